"""Customer profiles: one row per customer, chosen field by field (survivorship).

Each field takes the value of one of the customer's records according to a rule:

* ``most_trusted``: from the most trusted source (``source_priority`` order), ties
  broken by recency;
* ``most_recent``: from the latest record (``observed_at``);
* ``most_frequent``: the value most records agree on, ties broken by trust.

Values come from the normalised columns (so e-mails and phones are join-ready); names
and addresses show the record's original spelling when it has one. Every rule is a
sort and a ``drop_duplicates`` on the whole frame: no loop over customers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cxid._frames import group_labels
from cxid.schema import ARROW_STRING

RULES = ("most_trusted", "most_recent", "most_frequent")

#: field -> (normalised column, raw column shown when present or None)
PROFILE_FIELDS: dict[str, tuple[str, str | None]] = {
    "first_name": ("first_name_norm", "first_name"),
    "last_name": ("last_name_norm", "last_name"),
    "email": ("email_norm", None),
    "phone": ("phone_norm", None),
    "birth_date": ("birth_date_norm", None),
    "street": ("street_norm", "street"),
    "postcode": ("postcode_norm", None),
    "city": ("city_norm", "city"),
    "country": ("country_norm", None),
    "account_id": ("account_norm", None),
    "loyalty_id": ("loyalty_norm", None),
    "twitter_handle": ("handle_norm", None),
}

DEFAULT_RULES: dict[str, str] = {
    "first_name": "most_trusted",
    "last_name": "most_trusted",
    "email": "most_recent",
    "phone": "most_recent",
    "birth_date": "most_frequent",
    "street": "most_trusted",
    "postcode": "most_trusted",
    "city": "most_trusted",
    "country": "most_trusted",
    "account_id": "most_trusted",
    "loyalty_id": "most_trusted",
    "twitter_handle": "most_recent",
}

DEFAULT_SOURCE_PRIORITY: tuple[str, ...] = ("crm", "esp", "email", "web", "twitter", "beacon")


def _first_per_group(group: np.ndarray, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the best row per group, ordering rows by ``keys`` (earlier keys
    first, smallest wins). Returns (groups, positions)."""
    order = np.lexsort((*reversed(keys), group))
    g = group[order]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.array([], bool)
    return g[first], order[first]


def build_profiles(
    touchpoints: pd.DataFrame,
    customer_id: pd.Series,
    *,
    rules: Mapping[str, str] | None = None,
    source_priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY,
    rows: np.ndarray | None = None,
    source_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The customers table: customer_id, records, sources, first_seen, last_seen,
    ``records_<source>`` counts, then one column per profile field (rows ordered by
    customer id).

    For a part of the records holding whole customers (e.g. one group on a Spark
    executor): ``rows`` gives each record's global row (ties go to the smallest) and
    ``source_names`` (sorted) every source of the run, each getting its count column.
    """
    chosen = {**DEFAULT_RULES, **(rules or {})}
    unknown = {f: r for f, r in chosen.items() if r not in RULES}
    if unknown:
        raise ValueError(f"unknown survivorship rule(s) {unknown}; known: {RULES}")
    codes, uniques = pd.factorize(customer_id.astype(ARROW_STRING).reset_index(drop=True))
    codes = np.asarray(codes, dtype=np.int64)
    n_customers = len(uniques)
    if source_names is None:
        src_codes, src_names = pd.factorize(touchpoints["source"].astype(ARROW_STRING),
                                            sort=True)
    else:
        src_names = pd.Index(list(source_names), dtype=object)
        src_codes = src_names.get_indexer(touchpoints["source"].astype(object))
    src_codes = np.asarray(src_codes)
    src_names = np.asarray(src_names, dtype=object)
    rank = {name: i for i, name in enumerate(source_priority)}
    trust = np.array([rank.get(name, len(rank)) for name in src_names], np.int64)[src_codes]
    seen = pd.to_datetime(touchpoints["observed_at"], utc=True)
    known = seen.notna().to_numpy()
    stamp = seen.to_numpy("datetime64[ns]", na_value=np.datetime64("NaT")).astype(np.int64)
    age = np.where(known, -stamp, np.iinfo(np.int64).max)  # newest first, missing last
    rows = np.arange(len(touchpoints), dtype=np.int64) if rows is None \
        else np.asarray(rows, dtype=np.int64)

    out = pd.DataFrame({"customer_id": pd.array(uniques, dtype=ARROW_STRING),
                        "records": np.bincount(codes, minlength=n_customers)})
    out["sources"] = group_labels(codes, touchpoints["source"]).reindex(
        range(n_customers)).to_numpy()
    times = pd.DataFrame({"c": codes[known], "t": stamp[known]}).groupby("c")["t"]
    for name, values in (("first_seen", times.min()), ("last_seen", times.max())):
        stamps = np.full(n_customers, np.iinfo(np.int64).min, np.int64)  # NaT
        stamps[values.index.to_numpy()] = values.to_numpy()
        out[name] = pd.DatetimeIndex(stamps.view("datetime64[ns]")).tz_localize("UTC")
    counts = np.zeros((n_customers, len(src_names)), np.int64)
    np.add.at(counts, (codes, src_codes), 1)
    for j, name in enumerate(src_names):
        out[f"records_{name}"] = counts[:, j]

    for field, (norm_col, raw_col) in PROFILE_FIELDS.items():
        if norm_col not in touchpoints.columns:
            continue
        values = touchpoints[norm_col]
        have = values.notna().to_numpy()
        idx = np.flatnonzero(have)
        c, t, a, r = codes[idx], trust[idx], age[idx], rows[idx]
        rule = chosen[field]
        if rule == "most_frequent":
            vcodes = np.asarray(pd.factorize(values.iloc[idx])[0], dtype=np.int64)
            combo = c * (int(vcodes.max()) + 1 if len(vcodes) else 1) + vcodes
            _, inverse, freq = np.unique(combo, return_inverse=True, return_counts=True)
            groups, best = _first_per_group(c, -freq[inverse], t, a, r)
        elif rule == "most_recent":
            groups, best = _first_per_group(c, a, t, r)
        else:
            groups, best = _first_per_group(c, t, a, r)
        picked = values.iloc[idx[best]].astype(ARROW_STRING).reset_index(drop=True)
        if raw_col is not None and raw_col in touchpoints.columns:  # the original spelling
            raw = touchpoints[raw_col].iloc[idx[best]].astype(ARROW_STRING)
            picked = raw.reset_index(drop=True).fillna(picked)
        picked.index = groups
        out[field] = picked.reindex(range(n_customers)).array
    string_cols = [c for c in PROFILE_FIELDS if c in out.columns] + ["customer_id", "sources"]
    out = out.astype(dict.fromkeys(string_cols, ARROW_STRING))
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)
