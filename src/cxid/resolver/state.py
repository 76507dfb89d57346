"""Run state kept between runs (``--state DIR``): what makes ids stable and runs
incremental.

A state folder holds the previous identities, every customer id ever issued
(``id_registry``), the cumulative ``id_history``, the fitted model, a cache of each
input's normalised touchpoints keyed by the file's hash and how it was read, and the
suppression list of forgotten people (hashes only). It is written atomically like the
outputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxid.errors import CxidError
from cxid.resolver.ids import HISTORY_COLUMNS
from cxid.schema import ARROW_STRING

FORMAT_VERSION = 1


def value_hash(values: pd.Series) -> pd.Series:
    """SHA-256 hex of each value: the suppression list never stores personal data."""
    return values.astype("string").map(
        lambda v: hashlib.sha256(v.encode("utf-8")).hexdigest(), na_action="ignore"
    ).astype("string")




def _read_arrow_strings(path: Path) -> pd.DataFrame:
    """A parquet file with its string columns as Arrow-backed strings (no Python string
    objects are created: ten million cached touchpoints load in seconds)."""
    table = pq.read_table(path)

    def mapper(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
        if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
            return ARROW_STRING
        return None

    return table.to_pandas(types_mapper=mapper, ignore_metadata=False)


def cache_key(sha256: str, **how: Any) -> str:
    """Key of an input's cached touchpoints: the file's content and how it was read."""
    text = json.dumps({"sha256": sha256, **how}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "run" else "string")
                         for c in HISTORY_COLUMNS})


@dataclass
class State:
    """The state of a folder (empty when the folder does not exist yet)."""

    path: Path
    run: int = 0
    identities: pd.DataFrame | None = None
    registry: pd.DataFrame | None = None
    history: pd.DataFrame = field(default_factory=empty_history)
    model_json: str | None = None
    suppression: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"what": pd.Series(dtype="string"),
                                              "value_hash": pd.Series(dtype="string")}))
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> State:
        path = Path(path)
        if not path.exists():
            return cls(path=path)
        meta_file = path / "state.json"
        if not meta_file.exists():
            raise CxidError(f"{path} is not a cxid state folder (no state.json)")
        info = json.loads(meta_file.read_text(encoding="utf-8"))
        if info.get("format_version") != FORMAT_VERSION:
            raise CxidError(f"{path}: state format_version {info.get('format_version')!r} "
                            f"is not supported (expected {FORMAT_VERSION})")
        model = path / "model.json"
        return cls(
            path=path,
            run=int(info["run"]),
            identities=_read_arrow_strings(path / "identities.parquet"),
            registry=pd.read_parquet(path / "id_registry.parquet"),
            history=pd.read_parquet(path / "id_history.parquet"),
            model_json=model.read_text(encoding="utf-8") if model.exists() else None,
            suppression=pd.read_parquet(path / "suppression.parquet"),
            info=info,
        )

    def cached(self, key: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """Normalised touchpoints and rejected rows of a cached input, if present."""
        tp = self.path / "cache" / f"{key}.touchpoints.parquet"
        rj = self.path / "cache" / f"{key}.rejected.parquet"
        if tp.exists() and rj.exists():
            return _read_arrow_strings(tp), pd.read_parquet(rj)
        return None

    def save(
        self,
        *,
        run: int,
        identities: pd.DataFrame,
        registry: pd.DataFrame,
        history: pd.DataFrame,
        model_json: str | None,
        suppression: pd.DataFrame,
        cache: dict[str, tuple[pd.DataFrame, pd.DataFrame] | None],
        info: dict[str, Any],
    ) -> None:
        """Write a new state atomically; ``cache`` maps key -> frames, or None to carry
        the existing cached files over."""
        target = self.path
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            (tmp / "cache").mkdir()
            identities.to_parquet(tmp / "identities.parquet", index=False)
            registry.to_parquet(tmp / "id_registry.parquet", index=False)
            history.to_parquet(tmp / "id_history.parquet", index=False)
            suppression.to_parquet(tmp / "suppression.parquet", index=False)
            if model_json is not None:
                (tmp / "model.json").write_text(model_json, encoding="utf-8")
            for key, frames in cache.items():
                for part in ("touchpoints", "rejected"):
                    dest = tmp / "cache" / f"{key}.{part}.parquet"
                    if frames is None:
                        src = self.path / "cache" / f"{key}.{part}.parquet"
                        try:
                            os.link(src, dest)
                        except OSError:
                            shutil.copy2(src, dest)
                    else:
                        frames[0 if part == "touchpoints" else 1].to_parquet(dest, index=False)
            meta = {"format_version": FORMAT_VERSION, "run": run, **info}
            (tmp / "state.json").write_text(json.dumps(meta, indent=2, default=str) + "\n",
                                            encoding="utf-8")
            swap_in(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def swap_in(tmp: Path, target: Path) -> None:
    """Replace folder ``target`` by ``tmp`` using renames only: readers see either the
    old folder or the new one, and a crash before the swap leaves the old one intact."""
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
