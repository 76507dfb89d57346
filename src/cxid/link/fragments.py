"""Fragments: groups of records that are certainly one person, with set-valued profiles.

A fragment's profile is kept *long*: one row per (fragment, attribute, value), so a
fragment that was seen as ``Frédéric`` in the CRM and ``Fred`` on Twitter carries both
names, and comparisons take the best of the sets. Long tables keep every operation a
vectorised merge or group-by.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False,
                                   compare=False, repr=False)

    @property
    def n(self) -> int:
        return len(self.summary)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """``cache[key]``, built by ``build()`` on first use; one build even when
        threads ask at once (the others wait for it)."""
        with self._lock:
            if key not in self.cache:
                self.cache[key] = build()
            return self.cache[key]

    def __getstate__(self) -> dict[str, Any]:  # a lock does not pickle (Spark tasks)
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        object.__setattr__(self, "_lock", threading.RLock())

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


def _distinct_rows(fragment: np.ndarray, columns: dict[str, pd.Series],
                   rows: np.ndarray | None = None) -> pd.DataFrame:
    """(fragment, *columns) rows, the first of each distinct combination kept, in row
    order, values as Python strings built only for the rows kept (web events repeat the
    same e-mail or name many times per fragment); with ``rows`` (the row of each
    input), also ``row``: the row of the first occurrence."""
    keep, codes, uniques = first_distinct(fragment, list(columns.values()))
    out = {"fragment": fragment[keep]}
    for name, c, u in zip(columns, codes, uniques, strict=True):
        text = pd.Series(u, dtype=object).astype(str).to_numpy(dtype=object)
        out[name] = text[c[keep]] if len(u) else np.full(len(keep), "", dtype=object)
    if rows is not None:
        out["row"] = rows[keep]
    return pd.DataFrame(out)


class FragmentParts(NamedTuple):
    """What :func:`build_fragments` collapses a set of whole fragments into. Given
    global rows, each row also holds the ``row`` of its first record (and values the
    ``part``: index into :func:`attribute_columns`), so parts computed apart (one group
    of fragments each, e.g. on Spark executors) can be put in the order one pass over
    all records gives (:func:`assemble_fragments`).

    * ``values``: [part], fragment, attribute, value, [row];
    * ``names``: fragment, first, last, [row]; ``addresses``: fragment, street,
      postcode, city, [row];
    * ``summary``: fragment, records, first_row; ``sources``: (fragment, source) per
      record (or only the distinct ones: :func:`assemble_fragments` joins them).
    """

    values: pd.DataFrame
    names: pd.DataFrame
    addresses: pd.DataFrame
    summary: pd.DataFrame
    sources: pd.DataFrame


def attribute_columns(columns: Sequence[str]) -> list[tuple[str, str]]:
    """(attribute, touchpoint column) pairs collected into fragment values, in the order
    the values table lists them, for a touchpoints frame with ``columns``."""
    extras = extra_attributes(pd.DataFrame(columns=list(columns)))
    return [(attribute, column)
            for attribute, cols in {**PROFILE_ATTRIBUTES, **extras}.items()
            for column in cols if column in columns]


def fragment_parts(touchpoints: pd.DataFrame, fragment: np.ndarray,
                   rows: np.ndarray | None = None) -> FragmentParts:
    """The per-fragment pieces of :func:`build_fragments` for ``touchpoints`` holding
    whole fragments; ``rows``: each record's global row (None: the positions, and the
    parts come in order, without row columns)."""
    fragment = np.asarray(fragment, dtype=np.int64)
    numbered = rows is not None  # else no row bookkeeping: the parts are in order
    rows = np.arange(len(fragment), dtype=np.int64) if rows is None \
        else np.asarray(rows, dtype=np.int64)
    parts = []
    for i, (attribute, column) in enumerate(attribute_columns(touchpoints.columns)):
        values = touchpoints[column]
        mask = values.notna().to_numpy()
        if not mask.any():
            continue
        part = _distinct_rows(fragment[mask], {"value": values[mask]},
                              rows[mask] if numbered else None)
        part.insert(1, "attribute", attribute)
        if numbered:
            part.insert(0, "part", i)
        parts.append(part)
    if parts:
        values = pd.concat(parts, ignore_index=True)
        values = values.drop_duplicates(["fragment", "attribute", "value"]) if numbered \
            else values.drop_duplicates()
        values = values.reset_index(drop=True)
    else:
        values = pd.DataFrame({"part": np.array([], np.int64),
                               "fragment": np.array([], np.int64), "attribute": [],
                               "value": [], "row": np.array([], np.int64)})

    first = touchpoints.get("first_name_norm")
    last = touchpoints.get("last_name_norm")
    if first is not None and last is not None:
        has = (first.notna() | last.notna()).to_numpy()
        names = _distinct_rows(fragment[has], {"first": first[has].fillna(""),
                                               "last": last[has].fillna("")},
                               rows[has] if numbered else None)
    else:
        names = pd.DataFrame({"fragment": np.array([], np.int64), "first": [], "last": [],
                              "row": np.array([], np.int64)})

    addresses = _record_tuples(touchpoints, fragment, {"street": "street_norm",
                                                       "postcode": "postcode_norm",
                                                       "city": "city_norm"},
                               rows if numbered else None)

    summary = pd.DataFrame({"fragment": fragment, "row": rows}).groupby(
        "fragment", sort=True).agg(records=("row", "size"), first_row=("row", "min"))
    # the source column as it is (Arrow strings): no Python string per record
    sources = pd.DataFrame({"fragment": fragment,
                            "source": touchpoints["source"].reset_index(drop=True)})
    return FragmentParts(values, names, addresses, summary.reset_index(), sources)


def assemble_fragments(parts: FragmentParts, *, in_order: bool = True) -> Fragments:
    """:class:`Fragments` from its parts; ``in_order=False`` when the parts come from
    separate groups of fragments: rows are then put in the order of their first record
    (values: by attribute column first), as one pass over all records lists them."""
    values, names, addresses, summary = parts.values, parts.names, parts.addresses, \
        parts.summary
    if not in_order:
        values = values.sort_values(["part", "row"], kind="stable")
        names = names.sort_values("row", kind="stable")
        addresses = addresses.sort_values("row", kind="stable")
        summary = summary.sort_values("fragment", kind="stable")
    if list(values.columns) != ["fragment", "attribute", "value"]:
        values = values[["fragment", "attribute", "value"]].reset_index(drop=True)
    values["attribute"] = values["attribute"].astype("category")
    summary = summary.set_index("fragment")
    summary["sources"] = group_labels(parts.sources["fragment"].to_numpy(np.int64),
                                      parts.sources["source"])
    return Fragments(values=values,
                     names=names.drop(columns="row", errors="ignore").reset_index(drop=True),
                     summary=summary.reset_index(),
                     addresses=addresses.drop(columns="row", errors="ignore"
                                              ).reset_index(drop=True))


def build_fragments(touchpoints: pd.DataFrame, fragment: np.ndarray) -> Fragments:
    """Collapse normalised touchpoints into fragment profiles."""
    return assemble_fragments(fragment_parts(touchpoints, fragment))


def _record_tuples(touchpoints: pd.DataFrame, fragment: np.ndarray,
                   columns: dict[str, str], rows: np.ndarray | None) -> pd.DataFrame:
    """(fragment, *columns) as seen together on one record, empty strings for missing
    parts, records with none of them left out, duplicates dropped."""
    present = [c for c in columns.values() if c in touchpoints.columns]
    if not present:
        return pd.DataFrame({"fragment": np.array([], np.int64), **{k: [] for k in columns},
                             "row": np.array([], np.int64)})
    has = np.zeros(len(touchpoints), dtype=bool)
    for c in present:
        has |= touchpoints[c].notna().to_numpy()
    n = int(has.sum())
    return _distinct_rows(fragment[has], {
        name: touchpoints[col][has].fillna("") if col in touchpoints.columns
        else pd.Series(np.full(n, ""), dtype=object) for name, col in columns.items()},
        rows[has] if rows is not None else None)
