"""Customer ids: opaque, deterministic and stable across runs.

A new customer id is ``cx-`` followed by 16 hex digits of a keyed 64-bit hash of the
customer's *anchor* record key (``source`` + ``record_id``; the anchor is the record
whose key hashes smallest), so the same clusters give the same ids byte for byte.

Given the previous run's identities, :func:`assign_stable_ids` carries ids over:

* a customer whose records are still together keeps its id;
* a **merge** (records of several previous customers now in one) keeps the oldest id
  (earliest run, then smallest id); the others are retired into ``id_history``;
* a **split** (records of one previous customer now in several) leaves the id on the
  part holding most of its records; the other parts get new ids, recorded in
  ``id_history`` too.

Everything is group-bys over (cluster, previous id) counts; no loop over records.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cxid.schema import ARROW_STRING

ID_PREFIX = "cx-"
_HASH_KEY = "cxid-customer-v1"  # 16 bytes, fixed: ids must not change between versions

HISTORY_COLUMNS = ["old_customer_id", "new_customer_id", "reason", "run"]


def record_keys(source: pd.Series, record_id: pd.Series) -> pd.Series:
    """The global key of a record: ``source`` and ``record_id`` joined by a unit separator."""
    # the join runs in Arrow, no Python string per row
    return (source.astype(ARROW_STRING) + "\x1f" + record_id.astype(ARROW_STRING)
            ).astype(ARROW_STRING)


def hash_keys(keys: pd.Series) -> pd.Series:
    """Opaque ids for string keys (vectorised keyed SipHash via pandas)."""
    hashed = pd.util.hash_pandas_object(
        keys.astype(object), index=False, hash_key=_HASH_KEY
    ).to_numpy(np.uint64)
    hexed = pd.Series(hashed).map("{:016x}".format).astype("string")
    return (ID_PREFIX + hexed).astype("string").reset_index(drop=True)


def _key_hashes(keys: pd.Series) -> np.ndarray:
    # hash_pandas_object would factorise first (wasted: keys are unique); same hashes
    return pd.util.hash_array(keys.to_numpy(dtype=object, na_value=None),
                              hash_key=_HASH_KEY, categorize=False)


def _anchors(keys: pd.Series, cluster: np.ndarray, hashes: np.ndarray | None = None
             ) -> pd.Series:
    """Anchor record key per cluster (index = cluster label): the key whose hash is
    smallest. Hashing and a numeric arg-min cost far less than sorting ten million
    strings, and any fixed choice of member gives stable ids."""
    h = _key_hashes(keys) if hashes is None else hashes
    cluster = np.asarray(cluster, dtype=np.int64)
    if not len(cluster):
        return pd.Series([], dtype="string")
    # the smallest hash per cluster (one pass), then the first row holding it: the
    # row a sort by (cluster, hash) would put first, at a tenth of the cost at 10M
    smallest = np.full(int(cluster.max()) + 1, np.iinfo(np.uint64).max, np.uint64)
    np.minimum.at(smallest, cluster, h)
    hit = np.flatnonzero(h == smallest[cluster])
    by_cluster = np.argsort(cluster[hit], kind="stable")
    c = cluster[hit][by_cluster]
    first = np.r_[True, c[1:] != c[:-1]]
    rows = hit[by_cluster][first]
    return pd.Series(keys.take(rows).to_numpy(dtype=object), index=c[first], dtype="string")


def _fresh_ids(anchor: pd.Series, taken: set[str], salt: str) -> pd.Series:
    """Hash-based ids for clusters, re-salted where an id is already taken."""
    ids = hash_keys(anchor.reset_index(drop=True))
    ids.index = anchor.index
    attempt = 0
    while True:
        clash = ids.isin(taken) | ids.duplicated(keep="first")
        if not clash.any():
            return ids
        attempt += 1
        salted = anchor[clash.to_numpy()] + f"\x1e{salt}\x1e{attempt}"
        new = hash_keys(salted)
        new.index = salted.index
        ids[clash.to_numpy()] = new


def _per_record(ids: pd.Series, cluster: np.ndarray) -> pd.Series:
    """Each record's customer id (``ids`` indexed by cluster label) as Arrow strings:
    one Python string per customer, none per record."""
    values = pa.array(ids.to_numpy(dtype=object, na_value=None), pa.string())
    position = ids.index.get_indexer(np.asarray(cluster))
    taken = values.take(pa.array(position, mask=position < 0))
    return pd.Series(pd.array(taken, dtype=ARROW_STRING))


def customer_ids_from_clusters(
    source: pd.Series, record_id: pd.Series, cluster: np.ndarray
) -> pd.Series:
    """One customer id per record, from its cluster's anchor record (no history)."""
    keys = record_keys(source, record_id).reset_index(drop=True)
    ids = _fresh_ids(_anchors(keys, cluster), set(), "new")
    return _per_record(ids, cluster)


def assign_stable_ids(
    source: pd.Series,
    record_id: pd.Series,
    cluster: np.ndarray,
    previous: pd.DataFrame | None,
    *,
    run: int,
    registry: pd.DataFrame | None = None,
) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame]:
    """Customer id per record, keeping previous ids where the clusters allow.

    ``previous``: the previous identities (source, record_id, customer_id).
    ``registry``: every id ever issued with the run that created it (customer_id,
    created_run); ids missing from it count as created in run 0.
    Returns (customer ids per record as Arrow strings, id_history rows of this run,
    updated registry).
    """
    keys = record_keys(source, record_id).reset_index(drop=True)
    cluster = np.asarray(cluster, dtype=np.int64)
    hashes = _key_hashes(keys)
    anchor = _anchors(keys, cluster, hashes)
    registry = (registry.copy() if registry is not None
                else pd.DataFrame({"customer_id": pd.Series(dtype="string"),
                                   "created_run": pd.Series(dtype="int64")}))
    history = pd.DataFrame({c: pd.Series(dtype="string") for c in HISTORY_COLUMNS})
    history["run"] = history["run"].astype("int64")

    if previous is None or previous.empty:
        ids = _fresh_ids(anchor, set(registry["customer_id"].astype(str)), f"r{run}")
        per_record = _per_record(ids, cluster)
        registry = _register(registry, ids, run)
        return per_record, history, registry

    prev_keys = record_keys(previous["source"], previous["record_id"]).reset_index(drop=True)
    old_ids = previous["customer_id"].astype("string").reset_index(drop=True)
    cur_pos, prev_pos = _same_keys(keys, hashes, prev_keys)
    # previous ids and anchors as integer ranks (rank order = string order), so the
    # group-bys and sorts below run on integers, not strings
    old_codes, old_names = pd.factorize(old_ids.take(prev_pos))  # Arrow hashing
    old_names = np.asarray(old_names, dtype=object)
    by_name = np.argsort(old_names, kind="stable")  # sort the distinct ids only
    rank = np.empty(len(by_name), np.int64)
    rank[by_name] = np.arange(len(by_name))
    old_codes, old_names = rank[np.asarray(old_codes)], old_names[by_name]
    anchor_rank = pd.Series(pd.factorize(anchor, sort=True)[0], index=anchor.index)
    seen = pd.DataFrame({"old": np.asarray(old_codes, np.int64), "cluster": cluster[cur_pos]})
    counts = seen.groupby(["old", "cluster"]).size().rename("n").reset_index()
    counts["anchor"] = anchor_rank.reindex(counts["cluster"].to_numpy()).to_numpy()
    # the part of each previous customer that keeps its id: most records, then anchor
    counts = counts.sort_values(["old", "n", "anchor"], ascending=[True, False, True],
                                kind="stable")
    keeper = counts.drop_duplicates("old", keep="first")[["old", "cluster"]]
    created = registry.set_index("customer_id")["created_run"]
    keeper = keeper.assign(created=pd.Series(old_names[keeper["old"].to_numpy()]).map(created)
                           .fillna(0).astype("int64").to_numpy())
    keeper = keeper.sort_values(["cluster", "created", "old"], kind="stable")
    winners = keeper.drop_duplicates("cluster", keep="first").set_index("cluster")["old"]
    merged_away = keeper[~keeper["old"].isin(winners.to_numpy())]
    winners = pd.Series(old_names[winners.to_numpy()], index=winners.index, dtype=object)

    ids = pd.Series(pd.NA, index=anchor.index, dtype="string")
    ids[winners.index] = winners.to_numpy()
    need = ids.isna().to_numpy()
    taken = set(registry["customer_id"].astype(str)) | set(
        np.asarray(old_ids.unique(), dtype=object).tolist())
    fresh = _fresh_ids(anchor[need], taken, f"r{run}")
    ids[need] = fresh.to_numpy()

    # history: merges (old -> surviving id of its keeper cluster) and splits
    merges = pd.DataFrame({
        "old_customer_id": old_names[merged_away["old"].to_numpy()],
        "new_customer_id": ids[merged_away["cluster"].to_numpy()].to_numpy(),
        "reason": "merge",
    })
    split_parts = counts.merge(keeper[["old", "cluster"]], on=["old", "cluster"], how="left",
                               indicator=True)
    split_parts = split_parts[split_parts["_merge"] == "left_only"]
    splits = pd.DataFrame({
        "old_customer_id": old_names[split_parts["old"].to_numpy()],
        "new_customer_id": ids[split_parts["cluster"].to_numpy()].to_numpy(),
        "reason": "split",
    })
    splits = splits[splits["old_customer_id"] != splits["new_customer_id"]]
    history = pd.concat([merges, splits], ignore_index=True).drop_duplicates()
    history = history.assign(run=run).astype({"old_customer_id": "string",
                                              "new_customer_id": "string", "reason": "string",
                                              "run": "int64"})
    history = history.sort_values(HISTORY_COLUMNS, kind="stable").reset_index(drop=True)
    registry = _register(registry, ids[need], run)
    per_record = _per_record(ids, cluster)
    return per_record, history, registry


def _same_keys(keys: pd.Series, hashes: np.ndarray, prev_keys: pd.Series
               ) -> tuple[np.ndarray, np.ndarray]:
    """Positions (in ``keys``, in ``prev_keys``) of the records present in both.

    Rows at the same position with the same key (the same inputs read again, new ones
    appended) pair up directly; the others are found by their 64-bit key hashes (a
    sorted search, no string join) and checked on the keys themselves; should two
    keys ever share a hash, a string join decides."""
    n = min(len(keys), len(prev_keys))
    same_row = np.asarray(keys.iloc[:n].array == prev_keys.iloc[:n].array, dtype=bool)
    direct = np.flatnonzero(same_row)
    rest_cur = np.setdiff1d(np.arange(len(keys)), direct, assume_unique=True)
    rest_prev = np.setdiff1d(np.arange(len(prev_keys)), direct, assume_unique=True)
    if len(rest_cur) == 0 or len(rest_prev) == 0:
        return direct, direct
    prev_hashes = _key_hashes(prev_keys.take(rest_prev))
    order = np.argsort(prev_hashes, kind="stable")
    ordered = prev_hashes[order]
    if not (ordered[1:] != ordered[:-1]).all():
        return _same_keys_joined(keys, prev_keys)
    wanted = hashes[rest_cur]
    at = np.minimum(np.searchsorted(ordered, wanted), len(ordered) - 1)
    hit = ordered[at] == wanted
    cur_pos = rest_cur[hit]
    prev_pos = rest_prev[order[at[hit]]]
    same = keys.take(cur_pos).to_numpy() == prev_keys.take(prev_pos).to_numpy()
    if not np.asarray(same, dtype=bool).all():
        return _same_keys_joined(keys, prev_keys)
    return np.concatenate([direct, cur_pos]), np.concatenate([direct, prev_pos])


def _same_keys_joined(keys: pd.Series, prev_keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    cur = pd.DataFrame({"key": keys.to_numpy(), "i": np.arange(len(keys))})
    prev = pd.DataFrame({"key": prev_keys.to_numpy(), "j": np.arange(len(prev_keys))})
    both = cur.merge(prev, on="key", how="inner")
    return both["i"].to_numpy(np.int64), both["j"].to_numpy(np.int64)


def _register(registry: pd.DataFrame, new_ids: pd.Series, run: int) -> pd.DataFrame:
    add = pd.DataFrame({"customer_id": new_ids.astype("string").to_numpy(),
                        "created_run": np.full(len(new_ids), run, dtype=np.int64)})
    parts = [f for f in (registry, add) if len(f)]
    out = pd.concat(parts, ignore_index=True) if parts else add
    out = out.drop_duplicates("customer_id")
    return out.astype({"customer_id": "string", "created_run": "int64"}).reset_index(drop=True)
