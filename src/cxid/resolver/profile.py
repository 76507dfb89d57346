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


def build_profiles(
    touchpoints: pd.DataFrame,
    customer_id: pd.Series,
    *,
    rules: Mapping[str, str] | None = None,
    source_priority: Sequence[str] = DEFAULT_SOURCE_PRIORITY,
) -> pd.DataFrame:
    """The customers table: customer_id, records, sources, first_seen, last_seen,
    ``records_<source>`` counts, then one column per profile field."""
    chosen = {**DEFAULT_RULES, **(rules or {})}
    rank = {name: i for i, name in enumerate(source_priority)}
    base = pd.DataFrame({
        "customer_id": customer_id.astype("string").to_numpy(),
        "source": touchpoints["source"].astype("string").to_numpy(),
        "observed_at": touchpoints["observed_at"].to_numpy(),
        "row": np.arange(len(touchpoints)),
    })
    base["trust"] = base["source"].map(rank).fillna(len(rank)).astype(np.int64)
    # newest first; missing timestamps last
    base["age"] = -pd.to_datetime(base["observed_at"], utc=True).astype("int64")
    base.loc[base["observed_at"].isna(), "age"] = np.iinfo(np.int64).max

    grouped = base.groupby("customer_id", sort=True)
    out = pd.DataFrame({
        "records": grouped.size(),
        "sources": group_labels(base["customer_id"].to_numpy(), base["source"]),
        "first_seen": grouped["observed_at"].min(),
        "last_seen": grouped["observed_at"].max(),
    })
    counts = base.groupby(["customer_id", "source"]).size().unstack(fill_value=0)
    counts.columns = [f"records_{c}" for c in counts.columns]
    out = out.join(counts)

    for field, (norm_col, raw_col) in PROFILE_FIELDS.items():
        if norm_col not in touchpoints.columns:
            continue
        rule = chosen[field]
        values = touchpoints[norm_col].astype("string").to_numpy()
        have = ~pd.isna(values)
        rows = base[have].assign(value=values[have])
        if raw_col is not None and raw_col in touchpoints.columns:
            raw = touchpoints[raw_col].astype("string").to_numpy()[have]
            rows["shown"] = np.where(pd.isna(raw), rows["value"].to_numpy(), raw)
        else:
            rows["shown"] = rows["value"]
        if rule == "most_frequent":
            freq = rows.groupby(["customer_id", "value"])["row"].transform("size")
            rows = rows.assign(freq=-freq)
            order = ["customer_id", "freq", "trust", "age", "row"]
        elif rule == "most_recent":
            order = ["customer_id", "age", "trust", "row"]
        else:
            order = ["customer_id", "trust", "age", "row"]
        best = rows.sort_values(order, kind="stable").drop_duplicates("customer_id")
        out[field] = best.set_index("customer_id")["shown"]
    out = out.reset_index().rename(columns={"index": "customer_id"})
    string_cols = [c for c in PROFILE_FIELDS if c in out.columns] + ["customer_id", "sources"]
    return out.astype(dict.fromkeys(string_cols, "string"))
