"""Customer ids: opaque, deterministic strings derived from a cluster's members.

A customer id is ``cx-`` followed by 16 hex digits of a keyed 64-bit hash of the
smallest ``(source, record_id)`` key in the cluster. The same clusters give the same
ids byte for byte, and an id survives any change that keeps its anchor record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ID_PREFIX = "cx-"
_HASH_KEY = "cxid-customer-v1"  # 16 bytes, fixed: ids must not change between versions


def record_keys(source: pd.Series, record_id: pd.Series) -> pd.Series:
    """The global key of a record: ``source`` and ``record_id`` joined by a unit separator."""
    return (source.astype("string") + "\x1f" + record_id.astype("string")).astype("string")


def hash_keys(keys: pd.Series) -> pd.Series:
    """Opaque ids for string keys (vectorised keyed SipHash via pandas)."""
    hashed = pd.util.hash_pandas_object(
        keys.astype(object), index=False, hash_key=_HASH_KEY
    ).to_numpy(np.uint64)
    hexed = pd.Series(hashed).map("{:016x}".format)
    return (ID_PREFIX + hexed).astype("string")


def customer_ids_from_clusters(
    source: pd.Series, record_id: pd.Series, cluster: np.ndarray
) -> pd.Series:
    """One customer id per record: the hash of the smallest record key of its cluster."""
    keys = record_keys(source, record_id).reset_index(drop=True)
    anchors = pd.DataFrame({"cluster": cluster, "key": keys}).groupby("cluster")["key"].min()
    ids = hash_keys(anchors.reset_index(drop=True))
    ids.index = anchors.index
    return pd.Series(ids.reindex(cluster).to_numpy(), dtype="string")
