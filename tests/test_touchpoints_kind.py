"""Normalised touchpoints written once (``--write-touchpoints``) and resolved again as a
source of kind ``touchpoints``: the same customers, and the reader's rules (rows keep
their source, bad rows rejected, schema checked before any work)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxid.cli import main
from cxid.engine import LocalEngine
from cxid.errors import ConfigError, IngestError
from cxid.ingest import read_source
from cxid.pipeline import resolve
from cxid.resolution import Resolution
from cxid.schema import NORM_COLUMNS, REJECTED_COLUMNS, TOUCHPOINT_COLUMNS

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
TABLES = ("identities", "customers", "links", "id_history", "identifier_guards")


def sample_args() -> list[str]:
    return [a for k, v in FILES.items() for a in ("--source", f"{k}={SAMPLES / v}")]


@pytest.fixture(scope="module")
def native(tmp_path_factory) -> Path:
    """The samples resolved from their native files, touchpoints written too."""
    out = tmp_path_factory.mktemp("native") / "out"
    assert main(["-q", "resolve", *sample_args(), "--out", str(out),
                 "--write-touchpoints"]) == 0
    return out


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_round_trip_gives_the_same_customers(native, tmp_path):
    again = tmp_path / "again"
    assert main(["-q", "resolve", "--source",
                 f"touchpoints={native / 'touchpoints.parquet'}", "--out", str(again)]) == 0
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(again / f"{name}.parquet"),
                                      pd.read_parquet(native / f"{name}.parquet"), obj=name)
    first, second = manifest(native), manifest(again)
    # the readers' rejected rows are not touchpoints: the second run gets only the
    # accepted ones, so it reads fewer records and rejects none; everything else is equal
    n_rejected = first["counts"]["rejected"]
    assert n_rejected > 0
    assert second["counts"] == {**first["counts"], "rejected": 0,
                                "records_in": first["counts"]["records_in"] - n_rejected}
    assert second["counts"]["records_in"] == second["counts"]["identities"]
    for key in ("normalization", "cluster_sizes", "deterministic", "matching", "blocking"):
        assert second[key] == first[key], key
    assert len(pd.read_parquet(again / "rejected.parquet")) == 0
    (entry,) = second["inputs"]
    assert (entry["kind"], entry["normalization"], entry["records_read"]) == (
        "touchpoints", {}, first["counts"]["identities"])
    # the default outputs have no touchpoints
    assert not (again / "touchpoints.parquet").exists()


def test_written_touchpoints_are_the_resolutions(native):
    sources = {k: str(SAMPLES / v) for k, v in FILES.items()}
    res = resolve(sources)
    written = pd.read_parquet(native / "touchpoints.parquet")
    assert list(written.columns) == list(res.touchpoints.columns)
    assert len(written) == len(res.identities)
    expected = res.touchpoints.astype({"file": "string", "user_agent": "string"})
    pd.testing.assert_frame_equal(written.astype({"file": "string", "user_agent": "string"}),
                                  expected, check_dtype=False)
    schema = pq.read_schema(native / "touchpoints.parquet")
    assert pa.types.is_large_string(schema.field("file").type)  # not a dictionary
    back = read_source("touchpoints", native / "touchpoints.parquet").touchpoints
    pd.testing.assert_frame_equal(back.astype({"file": "string", "user_agent": "string"}),
                                  expected)


def test_a_state_caches_the_touchpoints_input(native, tmp_path):
    tp = str(native / "touchpoints.parquet")
    first = resolve({"touchpoints": tp}, state=tmp_path / "state")
    first.save_state(tmp_path / "state")
    again = resolve({"touchpoints": tp}, state=tmp_path / "state")
    assert [i["cached"] for i in first.manifest["inputs"]] == [False]
    assert [i["cached"] for i in again.manifest["inputs"]] == [True]
    pd.testing.assert_frame_equal(again.identities, first.identities)
    pd.testing.assert_frame_equal(
        first.identities, pd.read_parquet(native / "identities.parquet"), check_dtype=False)


def test_loaded_outputs_have_no_touchpoints_to_write(native, tmp_path):
    from cxid.errors import CxidError

    with pytest.raises(CxidError, match="no touchpoints"):
        Resolution.load(native).write(tmp_path / "o", touchpoints=True)


def test_parallel_read_path_reads_touchpoints_in_process(native, monkeypatch):
    import cxid.pipeline as pipeline

    sources = {"touchpoints": str(native / "touchpoints.parquet")}
    serial = resolve(sources, workers=1)
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    submitted = []
    real = pipeline._read_packed

    def spy(kind, *args):
        submitted.append(kind)
        return real(kind, *args)

    monkeypatch.setattr(pipeline, "_read_packed", spy)
    parallel = resolve(sources, workers=2)
    pd.testing.assert_frame_equal(parallel.touchpoints, serial.touchpoints)
    pd.testing.assert_frame_equal(parallel.identities, serial.identities)
    assert submitted == []  # read by the parent, not shipped through a worker


# ------------------------------------------------------------------ the reader


def write(path: Path, frame: pd.DataFrame) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame({k: pd.array(v, dtype="string") for k, v in columns.items()})


def test_rows_keep_their_source_and_are_not_normalised_again(tmp_path):
    path = write(tmp_path / "tp.parquet", frame(
        source=["web", "crm", "crm"], record_id=["1", "1", "C2"],
        email=["Marie.Dupont@GMAIL.com", None, "x@y.fr"],
        # not what the normaliser would make of it: kept as given
        email_norm=["Marie.Dupont@GMAIL.com", None, "x@y.fr"],
        x_ssn=["123", None, ""], x_ssn_norm=["123", None, None]))
    read = read_source("touchpoints", path, source="normalised")
    tp = read.touchpoints
    assert read.rejected.empty
    assert tp["source"].tolist() == ["web", "crm", "crm"]  # the configured name is not used
    assert tp["record_id"].tolist() == ["1", "1", "C2"]  # unique per (source, record_id)
    assert tp["email_norm"][0] == "Marie.Dupont@GMAIL.com"
    assert list(tp.columns[:len(TOUCHPOINT_COLUMNS)]) == list(TOUCHPOINT_COLUMNS)
    assert set(NORM_COLUMNS) <= set(tp.columns)
    assert {"x_ssn", "x_ssn_norm"} <= set(tp.columns)
    assert pd.isna(tp["x_ssn"][2])  # an empty string is a missing value
    # missing columns: nulls; file and line: the parquet file and its rows
    assert tp["phone_norm"].isna().all() and tp["observed_at"].isna().all()
    assert (tp["file"] == str(path)).all() and tp["line"].tolist() == [1, 2, 3]
    assert tp["line"].dtype == "Int64"
    assert isinstance(tp["observed_at"].dtype, pd.DatetimeTZDtype)
    # the read-and-normalise step both engines run passes them through, with no counts
    done = LocalEngine().read_normalised("touchpoints", str(path), source="normalised",
                                         mapping=None, id_column=None, region="FR")
    assert done.counts == {}
    assert done.touchpoints["email_norm"].tolist() == tp["email_norm"].tolist()


def test_bad_rows_go_to_rejected_and_every_row_is_counted(tmp_path):
    path = write(tmp_path / "tp.parquet", frame(
        source=["web", None, "web", "crm", "web", "", "crm"],
        record_id=["m1", "m2", None, "C1", "m1", "m3", " "],
        email_norm=["a@b.fr", None, None, None, "dup@b.fr", None, None]))
    tp, rej = read_source("touchpoints", path, source="tp")
    assert list(rej.columns) == list(REJECTED_COLUMNS)
    assert len(tp) + len(rej) == 7
    assert list(zip(tp["source"], tp["record_id"], strict=True)) == [("web", "m1"),
                                                                       ("crm", "C1")]
    assert tp["email_norm"].tolist() == ["a@b.fr", pd.NA]  # the first of a repeated id
    by_line = rej.set_index("line")
    assert by_line.loc[2, "reason"] == "missing source"
    assert by_line.loc[2, "source"] == "tp"  # the configured name, for want of one
    assert by_line.loc[3, "reason"] == "missing record_id"
    assert by_line.loc[5, "reason"] == "duplicate record_id"
    assert by_line.loc[6, "reason"] == "missing source"
    assert by_line.loc[7, "reason"] == "missing record_id"
    assert (rej["file"] == str(path)).all()
    assert json.loads(by_line.loc[5, "raw"])["email_norm"] == "dup@b.fr"


def test_a_resolve_with_rejected_rows_balances_its_counts(tmp_path):
    path = write(tmp_path / "tp.parquet", frame(
        source=["web", "web", "web", None], record_id=["m1", "m2", "m1", "m4"],
        cookie_norm=["ck1", "ck1", "ck2", "ck3"]))
    res = resolve({"touchpoints": str(path)})
    counts = res.manifest["counts"]
    assert (counts["records_in"], counts["identities"], counts["rejected"]) == (4, 2, 2)
    assert res.manifest["rejected_by_reason"] == {"duplicate record_id": 1,
                                                  "missing source": 1}
    assert res.identities["customer_id"].nunique() == 1  # the shared cookie links them


def test_a_folder_of_parquet_files_is_one_input(tmp_path):
    folder = tmp_path / "tp"
    folder.mkdir()
    write(folder / "part-00001.parquet", frame(source=["web", "web"], record_id=["m3", "m1"],
                                               email_norm=["c@d.fr", None]))
    write(folder / "part-00000.parquet", frame(source=["web", "crm"], record_id=["m1", "C1"],
                                               email_norm=["a@b.fr", "a@b.fr"]))
    (folder / "_SUCCESS").write_bytes(b"")
    (folder / ".part-00000.parquet.crc").write_bytes(b"junk")
    tp, rej = read_source("touchpoints", folder)
    assert tp["record_id"].tolist() == ["m1", "C1", "m3"]  # files in name order
    assert rej["reason"].tolist() == ["duplicate record_id"]
    assert rej["file"].tolist() == [str(folder / "part-00001.parquet")]
    assert rej["line"].tolist() == [2]
    res = resolve({"touchpoints": str(folder)})
    (entry,) = res.manifest["inputs"]
    assert len(entry["sha256"]) == 64 and entry["bytes"] > 0
    assert res.manifest["counts"]["records_in"] == 4


def test_unknown_columns_are_ignored_with_a_warning(tmp_path, caplog):
    path = write(tmp_path / "tp.parquet", frame(source=["web"], record_id=["m1"],
                                                email_norm=["a@b.fr"], customer_id=["cx-1"],
                                                emial_norm=["typo"]))
    with caplog.at_level(logging.WARNING, logger="cxid.ingest.touchpoints"):
        tp = read_source("touchpoints", path).touchpoints
    assert "customer_id" not in tp.columns and "emial_norm" not in tp.columns
    assert "customer_id, emial_norm" in caplog.text


def test_schema_problems_stop_before_any_work(tmp_path):
    wrong = pd.DataFrame({"source": ["web"], "record_id": ["m1"], "line": ["one"],
                          "email_norm": [3], "observed_at": ["2024-01-01"]})
    path = write(tmp_path / "wrong.parquet", wrong)
    with pytest.raises(ConfigError) as info:
        read_source("touchpoints", path)
    text = str(info.value)
    for column, want in (("line", "an integer"), ("email_norm", "text"),
                         ("observed_at", "a timestamp")):
        assert f"column {column!r} has type" in text and want in text, column

    lacking = write(tmp_path / "lacking.parquet", frame(email_norm=["a@b.fr"]))
    with pytest.raises(ConfigError, match=r"lacks required column\(s\) source, record_id"):
        read_source("touchpoints", lacking)

    raw = write(tmp_path / "raw.parquet", frame(source=["x"], record_id=["1"], email=["a@b"]))
    with pytest.raises(ConfigError, match="no normalised column"):
        read_source("touchpoints", raw)

    text_file = tmp_path / "tp.parquet"
    text_file.write_text("source,record_id\nweb,1\n", encoding="utf-8")
    with pytest.raises(IngestError, match="not a readable parquet file"):
        read_source("touchpoints", text_file)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IngestError, match=r"no \.parquet file"):
        read_source("touchpoints", empty)

    ok = write(tmp_path / "ok.parquet", frame(source=["web"], record_id=["1"],
                                              email_norm=["a@b.fr"]))
    with pytest.raises(ConfigError, match="takes no mapping"):
        read_source("touchpoints", ok, mapping={"email": "mail"})


def test_an_input_may_not_repeat_another_inputs_source(tmp_path, capsys):
    path = write(tmp_path / "tp.parquet", frame(source=["web", "crm"], record_id=["1", "C1"],
                                                email_norm=["a@b.fr", None]))
    out = tmp_path / "out"
    code = main(["resolve", "--source", f"touchpoints={path}",
                 "--source", f"crm={SAMPLES / 'crm.csv'}", "--out", str(out)])
    assert code == 2
    assert "source name 'crm' is in both input 'touchpoints' and input 'crm'" in (
        capsys.readouterr().err)
    assert not out.exists()
    # distinct sources mix freely with native inputs
    res = resolve({"touchpoints": str(path), "beacon": str(SAMPLES / "beacon.csv")})
    assert set(res.identities["source"]) == {"web", "crm", "beacon"}
