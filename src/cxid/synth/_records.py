"""What every source builder hands back for the truth file."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Records:
    """Records of one source and chunk: ids, owning person (index), identifier keys as
    a normaliser would derive them ("" = none), whether the record carries a name-level
    profile, and whether a reader can use it at all (False for deliberately bad rows)."""

    source: str
    record_id: np.ndarray
    person: np.ndarray
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    profile: np.ndarray | None = None
    usable: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.record_id)
