"""Fragments: groups of records that are certainly one person, with set-valued profiles.

A fragment's profile is kept *long*: one row per (fragment, attribute, value), so a
fragment that was seen as ``Frédéric`` in the CRM and ``Fred`` on Twitter carries both
names, and comparisons take the best of the sets. Long tables keep every operation a
vectorised merge or group-by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxid._frames import group_labels
from cxid.schema import EXTRA_PREFIX

#: Profile attributes and the normalised touchpoint columns they are collected from.
PROFILE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name_norm",),
    "last_name": ("last_name_norm",),
    "birth_date": ("birth_date_norm",),
    "email": ("email_norm", "reply_to_norm"),
    "email_local": ("email_local_norm",),
    "phone": ("phone_norm",),
    "street": ("street_norm",),
    "postcode": ("postcode_norm",),
    "city": ("city_norm",),
    "handle": ("handle_norm",),
    "account": ("account_norm",),
    "loyalty": ("loyalty_norm",),
}

NAME_SEPARATOR = "|"


@dataclass(frozen=True)
class Fragments:
    """Fragment profiles.

    * ``values``: long frame (fragment int64, attribute str, value str), deduplicated.
    * ``names``: (fragment, first, last) — each name as seen on one record, so first and
      last names stay paired for swap-aware comparison.
    * ``addresses``: (fragment, street, postcode, city) as seen on one record, compared
      as one address (street, postcode and city agreements are not independent).
    * ``summary``: one row per fragment: fragment, records, sources (sorted, '+'-joined),
      first_row (row of its first record).
    """

    values: pd.DataFrame
    names: pd.DataFrame
    summary: pd.DataFrame
    addresses: pd.DataFrame
    #: derived indexes (e.g. value sets sorted for comparison), built on first use
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.summary)

    def attribute(self, name: str) -> pd.DataFrame:
        """(fragment, value) rows of one attribute."""
        rows = self.values[self.values["attribute"] == name]
        return rows[["fragment", "value"]].reset_index(drop=True)


def extra_attributes(touchpoints: pd.DataFrame) -> dict[str, tuple[str, ...]]:
    """Profile attributes for a tabular source's ``x_*`` columns (normalised form)."""
    out = {}
    for col in touchpoints.columns:
        if col.startswith(EXTRA_PREFIX) and col.endswith("_norm"):
            out[col[: -len("_norm")]] = (col,)
    return out


def first_distinct(fragment: np.ndarray, columns: Sequence[pd.Series]
                   ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Positions of the first row of each distinct (fragment, *columns) combination, in
    row order, compared as integer codes (no Python string per row); also each column's
    codes and distinct values. Missing values compare equal to each other."""
    codes, uniques = [], []
    for column in columns:
        c, u = pd.factorize(column)
        codes.append(np.asarray(c, dtype=np.int64))
        uniques.append(np.asarray(u, dtype=object))
    keys = pd.DataFrame({"fragment": fragment, **{str(i): c for i, c in enumerate(codes)}})
    return np.flatnonzero(~keys.duplicated().to_numpy()), codes, uniques


def _distinct_rows(fragment: np.ndarray, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """(fragment, *columns) rows, the first of each distinct combination kept, in row
    order, values as Python strings built only for the rows kept (web events repeat the
    same e-mail or name many times per fragment)."""
    keep, codes, uniques = first_distinct(fragment, list(columns.values()))
    out = {"fragment": fragment[keep]}
    for name, c, u in zip(columns, codes, uniques, strict=True):
        text = pd.Series(u, dtype=object).astype(str).to_numpy(dtype=object)
        out[name] = text[c[keep]] if len(u) else np.full(len(keep), "", dtype=object)
    return pd.DataFrame(out)


def build_fragments(touchpoints: pd.DataFrame, fragment: np.ndarray) -> Fragments:
    """Collapse normalised touchpoints into fragment profiles."""
    fragment = np.asarray(fragment, dtype=np.int64)
    attributes = {**PROFILE_ATTRIBUTES, **extra_attributes(touchpoints)}
    parts = []
    for attribute, columns in attributes.items():
        for column in columns:
            if column not in touchpoints.columns:
                continue
            values = touchpoints[column]
            mask = values.notna().to_numpy()
            if not mask.any():
                continue
            part = _distinct_rows(fragment[mask], {"value": values[mask]})
            part.insert(1, "attribute", attribute)
            parts.append(part)
    if parts:
        values = pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True)
    else:
        values = pd.DataFrame({"fragment": np.array([], np.int64), "attribute": [], "value": []})
    values["attribute"] = values["attribute"].astype("category")

    first = touchpoints.get("first_name_norm")
    last = touchpoints.get("last_name_norm")
    if first is not None and last is not None:
        has = (first.notna() | last.notna()).to_numpy()
        names = _distinct_rows(fragment[has], {"first": first[has].fillna(""),
                                               "last": last[has].fillna("")})
    else:
        names = pd.DataFrame({"fragment": np.array([], np.int64), "first": [], "last": []})

    addresses = _record_tuples(touchpoints, fragment, {"street": "street_norm",
                                                       "postcode": "postcode_norm",
                                                       "city": "city_norm"})

    rows = pd.DataFrame({"fragment": fragment, "row": np.arange(len(fragment))})
    summary = rows.groupby("fragment", sort=True).agg(
        records=("row", "size"), first_row=("row", "min"),
    )
    # the source column as it is (Arrow strings): no Python string per record
    summary["sources"] = group_labels(fragment, touchpoints["source"])
    return Fragments(values=values, names=names, summary=summary.reset_index(),
                     addresses=addresses)


def _record_tuples(touchpoints: pd.DataFrame, fragment: np.ndarray,
                   columns: dict[str, str]) -> pd.DataFrame:
    """(fragment, *columns) as seen together on one record, empty strings for missing
    parts, records with none of them left out, duplicates dropped."""
    present = [c for c in columns.values() if c in touchpoints.columns]
    if not present:
        return pd.DataFrame({"fragment": np.array([], np.int64), **{k: [] for k in columns}})
    has = np.zeros(len(touchpoints), dtype=bool)
    for c in present:
        has |= touchpoints[c].notna().to_numpy()
    n = int(has.sum())
    return _distinct_rows(fragment[has], {
        name: touchpoints[col][has].fillna("") if col in touchpoints.columns
        else pd.Series(np.full(n, ""), dtype=object) for name, col in columns.items()})
