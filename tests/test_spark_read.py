"""The frame flow's read on Spark: the same touchpoints, row numbers and rejected rows
as the local engine's ``read_sources``, with no record brought to the driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from cxid.config import SourceConfig
from cxid.engine.spark import SparkEngine, _collect_arrow
from cxid.engine.spark_read import REJECTED_ORDER, read_touchpoints_frame
from cxid.errors import IngestError
from cxid.pipeline import read_sources

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}


@pytest.fixture
def small_chunks(spark_engine, monkeypatch, tmp_path):
    """Chunks of 200 kB (web.jsonl and support.mbox are read in several)."""
    monkeypatch.setattr(spark_engine, "read_chunk_bytes", 200_000)
    monkeypatch.setattr(spark_engine, "scratch_dir", tmp_path / "scratch")


def as_values(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.name == "observed_at":
        column = pd.to_datetime(column, utc=True)
    return column.astype(object).where(column.notna(), None).tolist()


def assert_same_as_local(engine: SparkEngine, sources: list[SourceConfig]) -> None:
    read = read_touchpoints_frame(engine, sources)
    want_tp, want_rj, inputs, _ = read_sources(sources)
    got = _collect_arrow(read.touchpoints).to_pandas().sort_values("row")
    assert got["row"].tolist() == list(range(len(want_tp)))
    assert read.columns == list(want_tp.columns)
    for c in want_tp.columns:
        assert as_values(got[c]) == as_values(want_tp[c]), c
    rejected = (_collect_arrow(read.rejected).to_pandas()
                .sort_values(list(REJECTED_ORDER)).reset_index(drop=True))
    # a record id repeated across chunks is rejected without its raw text (the
    # local engine reads these small files whole: its reader keeps the text)
    repeated = (want_rj["reason"] == "duplicate record_id").to_numpy()
    for c in want_rj.columns:
        keep = ~repeated if c == "raw" else np.ones(len(want_rj), bool)
        assert as_values(rejected[c][keep]) == as_values(want_rj[c][keep]), c
    assert [(i["records_accepted"], i["records_rejected"]) for i in read.inputs] == [
        (i["records_accepted"], i["records_rejected"]) for i in inputs]
    if not repeated.any():  # chunks count the records they normalised, repeated or not
        assert [i["normalization"] for i in read.inputs] == [i["normalization"]
                                                             for i in inputs]
    assert (read.n_touchpoints, read.n_rejected) == (len(want_tp), len(want_rj))


def samples() -> list[SourceConfig]:
    return [SourceConfig(name=k, kind=k, path=str(SAMPLES / v)) for k, v in FILES.items()]


def test_read_equals_local_on_the_samples(spark_engine, small_chunks, collected):
    assert_same_as_local(spark_engine, samples())
    # nothing per record came to the driver while reading: one meta row per chunk
    # (web.jsonl and support.mbox are read in several), and the repeated ids (none)
    n_records = 5114
    assert sum(rows for rows, _ in collected[:-2]) < 40 < n_records


def test_ids_repeated_across_chunks_are_rejected_and_rows_renumbered(
        spark_engine, small_chunks, tmp_path):
    lines = (SAMPLES / "web.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "web.jsonl"
    path.write_bytes(b"".join(lines + lines[10:12] + lines[3000:3001]))
    sources = [SourceConfig(name="crm", kind="crm", path=str(SAMPLES / "crm.csv")),
               SourceConfig(name="web", kind="web", path=str(path)),
               SourceConfig(name="esp", kind="esp", path=str(SAMPLES / "esp_audience.csv"))]
    assert_same_as_local(spark_engine, sources)
    read = read_touchpoints_frame(spark_engine, sources)
    reasons = _collect_arrow(read.rejected.select("reason")).to_pandas()["reason"]
    assert (reasons == "duplicate record_id").sum() == 3


def test_a_reader_error_is_raised_with_the_original_file(spark_engine, small_chunks,
                                                         tmp_path):
    junk = tmp_path / "web.jsonl"
    good = (SAMPLES / "web.jsonl").read_bytes()[:500_000]
    junk.write_bytes(good[:good.rindex(b"\n") + 1] + bytes(range(256)) * 64 + b"\n")
    with pytest.raises(IngestError) as error:
        read_touchpoints_frame(spark_engine, [SourceConfig(name="web", kind="web",
                                                           path=str(junk))])
    assert str(junk) in str(error.value)


def test_rows_are_numbered_without_gaps_on_generated_data(spark_engine, small_chunks,
                                                          tmp_path):
    from cxid.synth import generate

    generate(150, seed=5, out_dir=tmp_path / "data")
    sources = [SourceConfig(name=k, kind=k, path=str(tmp_path / "data" / v))
               for k, v in FILES.items() if (tmp_path / "data" / v).exists()]
    assert len(sources) >= 5
    assert_same_as_local(spark_engine, sources)
    rows = _collect_arrow(read_touchpoints_frame(spark_engine, sources).touchpoints
                          .select("row"))["row"].to_numpy()
    assert np.array_equal(np.sort(rows), np.arange(len(rows)))


def test_normalised_touchpoints_read_as_locally(spark_engine, tmp_path):
    """Kind ``touchpoints``: rows keep their own source, bad rows are rejected and x_
    extras come along, as on the local engine; a folder of parts is the local
    engine's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from cxid.errors import ConfigError

    path = tmp_path / "tp.parquet"
    pq.write_table(pa.table({
        "source": ["web", "crm", None, "web", "crm"],
        "record_id": ["m1", "C1", "m2", "m1", "C2"],
        "observed_at": pa.array([1_700_000_000_000_000, None, None, None, None],
                                pa.timestamp("us", tz="UTC")),
        "email_norm": ["a@b.fr", "a@b.fr", None, "dup@b.fr", ""],
        "x_ssn": ["1", None, None, None, "2"], "x_ssn_norm": ["1", None, None, None, "2"],
    }), path)
    sources = [SourceConfig(name="tp", kind="touchpoints", path=str(path)),
               SourceConfig(name="beacon", kind="beacon", path=str(SAMPLES / "beacon.csv"))]
    assert_same_as_local(spark_engine, sources)
    read = read_touchpoints_frame(spark_engine, sources)
    assert {"x_ssn", "x_ssn_norm"} <= set(read.columns)
    assert (read.inputs[0]["records_accepted"], read.inputs[0]["records_rejected"]) == (3, 2)

    (tmp_path / "parts").mkdir()
    pq.write_table(pq.read_table(path), tmp_path / "parts" / "part-0.parquet")
    folder = [SourceConfig(name="tp", kind="touchpoints", path=str(tmp_path / "parts"))]
    with pytest.raises(ConfigError, match="give one parquet file, not a folder"):
        read_touchpoints_frame(spark_engine, folder)
