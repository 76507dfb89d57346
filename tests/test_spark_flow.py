"""The Spark frame flow end to end: the outputs the local engine writes, with no
per-record frame ever brought to the driver."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("pyspark")

from cxid.pipeline import resolve, resolve_to

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
TABLES = ("identities", "customers", "links", "rejected", "id_history", "identifier_guards")
#: Columns that give each table one order whatever order its rows were written in.
ORDER = {"links": ["link_type", "a", "b", "kind"], "identifier_guards": ["decision", "kind",
                                                                          "value"]}


def read_table(folder: Path, name: str) -> pd.DataFrame:
    frame = pd.read_parquet(folder / f"{name}.parquet")
    frame = frame.astype({c: "string" for c in frame.columns
                          if frame[c].dtype == object or pd.api.types.is_string_dtype(
                              frame[c].dtype)})
    if name in ORDER and len(frame):
        frame = frame.sort_values(ORDER[name], kind="stable")
    return frame.reset_index(drop=True)


def assert_same_outputs(local_out: Path, spark_out: Path) -> None:
    for name in TABLES:
        want, got = read_table(local_out, name), read_table(spark_out, name)
        assert list(got.columns) == list(want.columns), name
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=name)
    local = json.loads((local_out / "manifest.json").read_text())
    spark = json.loads((spark_out / "manifest.json").read_text())
    assert spark["counts"] == local["counts"]
    for key in ("cluster_sizes", "rejected_by_reason", "normalization", "deterministic",
                "inputs"):
        if key == "inputs":
            for a, b in zip(spark[key], local[key], strict=True):
                assert {k: v for k, v in a.items() if k != "seconds"} == {
                    k: v for k, v in b.items() if k != "seconds"}
        else:
            assert spark[key] == local[key], key


def test_the_frame_flow_writes_the_local_outputs(spark_engine, tmp_path, collected):
    sources = {k: str(SAMPLES / v) for k, v in FILES.items()}
    local = resolve(sources)
    local.write(tmp_path / "local")
    manifest = resolve_to(tmp_path / "spark", sources, engine=spark_engine)
    assert manifest["counts"]["identities"] == len(local.identities) > 5000
    assert_same_outputs(tmp_path / "local", tmp_path / "spark")
    # the driver got per-fragment, per-customer and per-pair tables (the matching runs
    # there, as locally), never the records: no table naming records reaches a quarter
    # of them (the samples have 745 customers for 5,110 records)
    n_records = len(local.identities)
    per_record = {"record_id", "customer_id", "source", "key"}
    named = [rows for rows, columns in collected if per_record & set(columns)]
    assert named and max(named) < n_records // 4


def test_the_frame_flow_on_generated_data_with_traps(spark_engine, tmp_path):
    from cxid.synth import generate

    generate(250, seed=11, out_dir=tmp_path / "data")
    sources = {k: str(tmp_path / "data" / v) for k, v in FILES.items()
               if (tmp_path / "data" / v).exists()}
    resolve(sources).write(tmp_path / "local")
    resolve_to(tmp_path / "spark", sources, engine=spark_engine)
    assert_same_outputs(tmp_path / "local", tmp_path / "spark")


def test_the_cli_runs_the_frame_flow_on_spark(spark_engine, tmp_path, capsys, monkeypatch):
    from cxid.cli import main
    from cxid.engine import get_engine

    monkeypatch.setattr("cxid.engine._SPARK", spark_engine)  # reuse the test session
    assert get_engine("spark") is spark_engine
    args = ["resolve", "--engine", "spark", "--out", str(tmp_path / "out")]
    for k, v in FILES.items():
        args += ["--source", f"{k}={SAMPLES / v}"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "records in" in printed and "identities" in printed
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"]["records_in"] == 5114


def test_a_run_with_every_record_rejected(spark_engine, tmp_path):
    header = (SAMPLES / "crm.csv").read_text(encoding="utf-8").splitlines()[0]
    (tmp_path / "crm.csv").write_text(header + "\n", encoding="utf-8")
    (tmp_path / "web.jsonl").write_text("not json\n", encoding="utf-8")
    sources = {"crm": str(tmp_path / "crm.csv"), "web": str(tmp_path / "web.jsonl")}
    resolve(sources).write(tmp_path / "local")
    manifest = resolve_to(tmp_path / "spark", sources, engine=spark_engine)
    assert manifest["counts"]["records_in"] == manifest["counts"]["rejected"] == 1
    assert_same_outputs(tmp_path / "local", tmp_path / "spark")


def test_the_frame_flow_writes_and_reads_normalised_touchpoints(spark_engine, tmp_path):
    sources = {k: str(SAMPLES / v) for k, v in FILES.items()}
    resolve(sources).write(tmp_path / "local", touchpoints=True)
    resolve_to(tmp_path / "spark", sources, engine=spark_engine, write_touchpoints=True)
    want = read_table(tmp_path / "local", "touchpoints")
    got = read_table(tmp_path / "spark", "touchpoints")  # a folder of parts, in row order
    assert list(got.columns) == list(want.columns)
    got["observed_at"] = got["observed_at"].astype(want["observed_at"].dtype)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # resolved again as a touchpoints source on Spark: the same customers
    resolve_to(tmp_path / "again", {"touchpoints": str(tmp_path / "local" / "touchpoints.parquet")},
               engine=spark_engine)
    for name in ("identities", "customers", "links", "identifier_guards"):
        pd.testing.assert_frame_equal(read_table(tmp_path / "again", name),
                                      read_table(tmp_path / "local", name),
                                      check_dtype=False, obj=name)
