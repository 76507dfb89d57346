"""Clustering fragments into customers from scored edges."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def connected_clusters(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cluster label per node: connected components of the edge list, numbered densely
    in order of each component's first node."""
    if n == 0:
        return np.array([], np.int64)
    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return pd.factorize(labels, sort=False)[0].astype(np.int64)
