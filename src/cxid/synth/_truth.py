"""Which records a method could attach to the rest of their person (``linkable``).

Within each person, records are joined when they share an identifier value (after the
normalisation a reasonable reader applies) that no other person uses, and all records
that carry a usable name-level profile are joined with each other (probabilistic
matching could link them). The person's *main* component is the one holding the most
profile records (then the most records); records outside it are not linkable. Bad
records that a reader must reject are never linkable.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cxid.synth._records import Records

# record key names -> identifier kind (reply-to addresses are e-mails too)
_KIND = {"cookie": "cookie", "account": "account", "email": "email", "reply": "email",
         "phone": "phone", "device": "device", "twitter": "twitter", "loyalty": "loyalty"}


def linkable(records: list[Records]) -> list[np.ndarray]:
    """One boolean array per :class:`Records`, True where the record is linkable."""
    sizes = [len(r) for r in records]
    total = sum(sizes)
    if total == 0:
        return [np.zeros(0, dtype=bool) for _ in records]
    offsets = np.cumsum([0, *sizes])
    person = np.concatenate([r.person for r in records]).astype(np.int64)
    usable = np.concatenate([r.usable if r.usable is not None else np.ones(len(r), bool)
                             for r in records])
    profile = np.concatenate([r.profile if r.profile is not None else np.zeros(len(r), bool)
                              for r in records]) & usable
    rows, values = [], []
    for r, off in zip(records, offsets[:-1], strict=True):
        for name, vals in r.keys.items():
            vals = np.asarray(vals, dtype=object)
            m = (vals != "") & pd.notna(vals)
            rows.append(off + np.flatnonzero(m))
            values.append(_KIND[name] + "\x1f" + vals[m].astype(str).astype(object))
    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    value = np.concatenate(values) if values else np.zeros(0, object)
    node, _ = pd.factorize(value)
    # a value used by several persons is no evidence (family tablet, shared e-mail, junk)
    owners = pd.DataFrame({"node": node, "person": person[row]}).groupby("node")["person"].nunique()
    keep = (owners.to_numpy()[node] == 1) & usable[row]
    n_nodes = int(node.max()) + 1 if len(node) else 0
    prof_rows = np.flatnonzero(profile)
    _, prof_node = np.unique(person[prof_rows], return_inverse=True)
    src = np.concatenate([row[keep], prof_rows])
    dst = np.concatenate([total + node[keep], total + n_nodes + prof_node])
    size = total + n_nodes + (int(prof_node.max()) + 1 if len(prof_node) else 0)
    graph = coo_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    comp = label[:total]
    frame = pd.DataFrame({"person": person, "comp": comp, "profile": profile})
    agg = frame.groupby(["person", "comp"], sort=True).agg(n_profile=("profile", "sum"),
                                                          n=("profile", "size")).reset_index()
    agg = agg.sort_values(["person", "n_profile", "n", "comp"],
                          ascending=[True, False, False, True], kind="stable")
    main = agg.drop_duplicates("person").set_index("person")["comp"]
    flag = (comp == main.reindex(person).to_numpy()) & usable
    return [flag[a:b] for a, b in itertools.pairwise(offsets)]
