"""The Spark engine (local mode) gives exactly what the local engine gives: each
operation on real-shaped data, and customer ids end to end on the bundled samples."""

from __future__ import annotations

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from cxid.engine import LocalEngine, get_engine
from cxid.engine.spark import SparkEngine
from cxid.errors import CxidError, IngestError
from cxid.ingest._chunks import line_chunks
from cxid.link.fragments import build_fragments
from cxid.pipeline import resolve
from cxid.resolver.cluster import guarded_clusters
from cxid.schema import ARROW_STRING

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
LOCAL = LocalEngine()


def assert_same_read(spark_engine: SparkEngine, kind: str, path: str, **kwargs) -> None:
    args = {"source": kind, "mapping": None, "id_column": None, **kwargs}
    got = spark_engine.read(kind, path, **args)
    want = LOCAL.read(kind, path, **args)
    pd.testing.assert_frame_equal(got.touchpoints, want.touchpoints)
    pd.testing.assert_frame_equal(got.rejected, want.rejected)


# ------------------------------------------------------------------ read
@pytest.mark.parametrize("kind", list(FILES))
def test_read_equals_local_reader(spark_engine, kind):
    assert_same_read(spark_engine, kind, str(SAMPLES / FILES[kind]))


def test_read_keeps_the_original_path_and_extras(spark_engine):
    got = spark_engine.read("crm", str(SAMPLES / "crm.csv"), source="crm", mapping=None,
                            id_column=None)
    assert set(got.touchpoints["file"]) == {str(SAMPLES / "crm.csv")}
    mapping = {"email": "email", "first_name": "first_name", "x_created": "created_at"}
    assert_same_read(spark_engine, "tabular", str(SAMPLES / "crm.csv"), mapping=mapping,
                     id_column="customer_id")


def test_read_gzip_hidden_and_errors_like_local(spark_engine, tmp_path):
    packed = tmp_path / "web.jsonl.gz"
    packed.write_bytes(gzip.compress((SAMPLES / "web.jsonl").read_bytes()))
    assert_same_read(spark_engine, "web", str(packed))
    hidden = tmp_path / "_crm.csv"  # a name Spark's file listing would skip
    hidden.write_bytes((SAMPLES / "crm.csv").read_bytes())
    assert_same_read(spark_engine, "crm", str(hidden))
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 64)
    args = {"source": "crm", "mapping": None, "id_column": None}
    with pytest.raises(IngestError) as local_error:
        LOCAL.read("crm", str(junk), **args)
    with pytest.raises(IngestError) as spark_error:
        spark_engine.read("crm", str(junk), **args)
    assert str(spark_error.value) == str(local_error.value)


@pytest.fixture
def small_chunks(spark_engine, monkeypatch, tmp_path):
    """Reads split into chunks of ~200 kB of JSON (20 kB of mbox) in a scratch folder;
    yields the names of the chunk files written."""
    import cxid.engine.spark as spark_module

    written: list[str] = []

    def spy(path, folder, kind, size):
        for chunk, before in line_chunks(path, folder, kind, size):
            written.append(Path(chunk).name)
            yield chunk, before

    monkeypatch.setattr(spark_module, "line_chunks", spy)
    monkeypatch.setattr(spark_engine, "read_chunk_bytes", 200_000)
    scratch = tmp_path / "scratch"
    monkeypatch.setattr(spark_engine, "scratch_dir", scratch)
    yield written
    # the scratch folder (chunks, and the Arrow files the tasks hand back) is left empty
    assert not scratch.exists() or list(scratch.iterdir()) == []


@pytest.mark.parametrize("kind", ["web", "email", "twitter"])
def test_chunked_read_equals_local_reader(spark_engine, small_chunks, kind):
    assert_same_read(spark_engine, kind, str(SAMPLES / FILES[kind]))
    if kind == "twitter":  # 9 kB: below a chunk, read whole
        assert small_chunks == []
    else:  # web.jsonl 1.5 MB, support.mbox 54 kB
        assert len(small_chunks) > 2


@pytest.fixture
def handoffs(monkeypatch):
    """For each file or chunk read: whether its rows came back as an Arrow file."""
    import cxid.engine.spark as spark_module

    seen: list[bool] = []
    rows_of = spark_module._chunk_rows

    def spy(table, chunk, meta):
        seen.append("file" in meta)
        return rows_of(table, chunk, meta)

    monkeypatch.setattr(spark_module, "_chunk_rows", spy)
    return seen


def test_read_rows_skip_the_jvm_in_local_mode(spark_engine, handoffs):
    assert_same_read(spark_engine, "crm", str(SAMPLES / FILES["crm"]))
    assert handoffs == [True]


def test_no_chunks_on_a_cluster_without_scratch_dir(spark_engine, small_chunks, monkeypatch,
                                                    handoffs):
    monkeypatch.setattr(spark_engine, "_local_master", lambda: False)
    monkeypatch.setattr(spark_engine, "scratch_dir", None)  # the driver's /tmp: not shared
    assert_same_read(spark_engine, "web", str(SAMPLES / FILES["web"]))
    assert handoffs == [False]  # rows back through Spark's collect
    assert small_chunks == []


def test_chunked_read_rejects_ids_repeated_across_chunks(spark_engine, small_chunks, tmp_path):
    lines = (SAMPLES / "web.jsonl").read_bytes().splitlines(keepends=True)
    repeated = lines + lines[10:12]  # two records again, in the last chunk
    path = tmp_path / "web.jsonl"
    path.write_bytes(b"".join(repeated))
    args = {"source": "web", "mapping": None, "id_column": None}
    got = spark_engine.read("web", str(path), **args)
    want = LOCAL.read("web", str(path), **args)
    assert len(small_chunks) > 2
    pd.testing.assert_frame_equal(got.touchpoints, want.touchpoints)
    dups = got.rejected[got.rejected["reason"] == "duplicate record_id"]
    assert dups["line"].tolist() == [len(lines) + 1, len(lines) + 2]
    # appended after the other rejections, without their raw text (as the local
    # engine's chunked reading does)
    key = ["source", "file", "line", "record_id", "reason"]
    pd.testing.assert_frame_equal(
        got.rejected.sort_values("line")[key].reset_index(drop=True),
        want.rejected[key], check_dtype=False)


def test_chunked_read_raises_the_local_error(spark_engine, small_chunks, tmp_path):
    junk = tmp_path / "web.jsonl"
    good = (SAMPLES / "web.jsonl").read_bytes()[:500_000]
    junk.write_bytes(good[:good.rindex(b"\n") + 1] + bytes(range(256)) * 64 + b"\n")
    args = {"source": "web", "mapping": None, "id_column": None}
    with pytest.raises(IngestError) as local_error:
        LOCAL.read("web", str(junk), **args)
    with pytest.raises(IngestError) as spark_error:
        spark_engine.read("web", str(junk), **args)
    assert len(small_chunks) > 2
    assert str(spark_error.value) == str(local_error.value)
    assert str(junk) in str(spark_error.value)


# ------------------------------------------------------------------ block_pairs
def test_block_pairs_equal_local(spark_engine):
    rng = np.random.default_rng(3)
    block = pd.DataFrame({"k": rng.integers(0, 60, 900).astype(np.int64),
                          "f": rng.integers(0, 500, 900).astype(np.int64)})
    got = spark_engine.block_pairs(block, 500)
    want = LOCAL.block_pairs(block, 500)
    assert got.dtype == np.int64 and len(got) > 1000
    np.testing.assert_array_equal(got, want)
    empty = block.iloc[:0]
    np.testing.assert_array_equal(spark_engine.block_pairs(empty, 500),
                                  LOCAL.block_pairs(empty, 500))


# ------------------------------------------------------------------ map_batches
def _levels_function():
    """A row-wise batch function returning an int8 level and a nullable string, like
    compare_pairs' batches (nested, so Spark's workers get it by value)."""
    def levels(frame: pd.DataFrame) -> pd.DataFrame:
        left, right = frame["l"].to_numpy(np.int64), frame["r"].to_numpy(np.int64)
        shared = [None if (a + b) % 5 == 0 else f"v{a}-{b}"
                  for a, b in zip(left, right, strict=True)]
        return pd.DataFrame({"l_name": ((left - right) % 4 - 1).astype(np.int8),
                             "s_name": pd.array(shared, dtype="string"),
                             "score": np.where(left % 7 == 0, np.nan, left / (right + 1.0))})

    return levels


def test_map_batches_equals_local_in_order(spark_engine):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"l": rng.integers(0, 10_000, 20_000),
                          "r": rng.integers(0, 10_000, 20_000)}, index=np.arange(20_000) * 3)
    levels = _levels_function()
    got = spark_engine.map_batches(levels, frame, batch_rows=3_000)
    want = LOCAL.map_batches(levels, frame, batch_rows=3_000)
    pd.testing.assert_frame_equal(got, want)
    assert got["l_name"].dtype == np.int8 and got["s_name"].isna().any()
    pd.testing.assert_frame_equal(spark_engine.map_batches(levels, frame.iloc[:0]),
                                  LOCAL.map_batches(levels, frame.iloc[:0]))


# ------------------------------------------------------------------ map_groups
def _summary_function():
    """A group-wise function: per key, its rows, the sum of ``x`` and the joined labels
    (nested, so Spark's workers get it by value)."""
    def summary(frame: pd.DataFrame) -> pd.DataFrame:
        return (frame.groupby("k", sort=False)
                .agg(rows=("x", "size"), total=("x", "sum"),
                     labels=("s", lambda s: "+".join(s)))
                .reset_index())

    return summary


def test_map_groups_equals_local(spark_engine):
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"k": rng.integers(0, 40, 3_000).astype(np.int64),
                          "x": rng.normal(size=3_000),
                          "s": pd.array([f"s{i % 7}" for i in range(3_000)], dtype="string")})
    frame = frame.sort_values(["k", "x"], kind="stable")
    dtypes = {"k": "int64", "rows": "int64", "total": "float64", "labels": "string"}
    summary = _summary_function()
    got = spark_engine.map_groups(summary, frame, "k", dtypes)
    want = LOCAL.map_groups(summary, frame, "k", dtypes)
    assert len(want) == 40 and got["labels"].dtype == "string"
    got = got.sort_values("k").reset_index(drop=True)
    want = want.sort_values("k").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(spark_engine.map_groups(summary, frame.iloc[:0], "k",
                                                          dtypes),
                                  LOCAL.map_groups(summary, frame.iloc[:0], "k", dtypes))


def test_guarded_clusters_equal_local(spark_engine):
    """Conflicting components re-clustered per component on Spark: same labels, same
    refused edges and reasons, in the same order."""
    rows = [
        {"account_norm": "C1"}, {}, {"account_norm": "C2"},  # 0-1-2: two accounts chained
        {"first_name_norm": "marie", "birth_date_norm": "1980-01-02"},  # 3
        {"first_name_norm": "marie"},  # 4: dateless web form
        {"first_name_norm": "marie", "birth_date_norm": "1992-07-15"},  # 5
        {"first_name_norm": "marie", "birth_date_norm": "1980-02-01"},  # 6: day/month swap
        {"loyalty_norm": "L1"}, {}, {"loyalty_norm": "L1"},  # 7-8-9: no conflict
        {"account_norm": "C3"}, {"account_norm": "C3"}, {"account_norm": "C4"},  # ties
        {},  # 13: alone
    ]
    cols = ["account_norm", "loyalty_norm", "birth_date_norm", "first_name_norm"]
    frame = pd.DataFrame(rows).reindex(columns=cols).astype("string")
    frame["source"] = "crm"
    fragments = build_fragments(frame, np.arange(len(frame)))
    left = np.array([0, 1, 3, 4, 4, 7, 8, 10, 11, 10])
    right = np.array([1, 2, 4, 5, 6, 8, 9, 11, 12, 12])
    weight = np.array([12.0, 4.0, 9.0, 8.0, 7.0, 5.0, 5.0, 6.0, 6.0, 6.0])
    want = guarded_clusters(fragments, left, right, weight, engine=LOCAL)
    got = guarded_clusters(fragments, left, right, weight, engine=spark_engine)
    np.testing.assert_array_equal(got.label, want.label)
    pd.testing.assert_frame_equal(got.refused, want.refused)
    assert want.refused[["fragment_l", "fragment_r"]].values.tolist() == [
        [4, 5], [11, 12], [10, 12], [1, 2]]  # strongest first, ties in input order
    assert want.refused["reason"].tolist() == ["birth dates differ"] + [
        "would join two account ids"] * 3
    assert want.label[0] == want.label[1] != want.label[2]
    assert want.label[3] == want.label[4] == want.label[6] != want.label[5]
    assert want.label[7] == want.label[8] == want.label[9]


# ------------------------------------------------------------------ components
def _graphs() -> list[tuple[int, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    graphs = []
    for n, m in ((300, 200), (2_000, 1_900)):  # random, many isolated nodes
        graphs.append((n, rng.integers(0, n, m), rng.integers(0, n, m)))
    chain = rng.permutation(60)  # a shuffled chain of 60 plus a reversed one of 15
    left = np.concatenate([chain[:-1], np.arange(74, 60, -1)])
    right = np.concatenate([chain[1:], np.arange(73, 59, -1)])
    graphs.append((80, left, right))
    star = np.arange(1, 40)  # a star around node 17, with a self loop and duplicates
    graphs.append((45, np.concatenate([np.full(39, 17), [3, 5, 5]]),
                   np.concatenate([star, [3, 6, 6]])))
    graphs.append((5, np.array([], np.int64), np.array([], np.int64)))
    graphs.append((0, np.array([], np.int64), np.array([], np.int64)))
    return graphs


@pytest.mark.parametrize("graph", _graphs(), ids=["random", "sparse", "chains", "star",
                                                  "no-edges", "empty"])
def test_connected_components_equal_local(spark_engine, graph):
    n, left, right = graph
    got = spark_engine.connected_components(n, left, right)
    want = LOCAL.connected_components(n, left, right)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, want)


# ------------------------------------------------------------------ read_normalised
def assert_same_normalised_read(spark_engine: SparkEngine, kind: str, path: str) -> None:
    args = {"source": kind, "mapping": None, "id_column": None, "region": "FR"}
    got = spark_engine.read_normalised(kind, path, **args)
    want = LOCAL.read_normalised(kind, path, **args)
    assert "email_norm" in got.touchpoints.columns
    pd.testing.assert_frame_equal(got.touchpoints, want.touchpoints)
    pd.testing.assert_frame_equal(got.rejected, want.rejected)
    assert got.counts == want.counts
    assert sum(c["present"] for c in got.counts.values()) > 0


@pytest.mark.parametrize("kind", list(FILES))
def test_read_normalised_equals_local(spark_engine, kind):
    """The normalisers run inside Spark's read tasks and give what they give locally."""
    assert_same_normalised_read(spark_engine, kind, str(SAMPLES / FILES[kind]))


@pytest.mark.parametrize("kind", ["web", "email"])
def test_chunked_read_normalised_sums_the_counts(spark_engine, small_chunks, kind):
    assert_same_normalised_read(spark_engine, kind, str(SAMPLES / FILES[kind]))
    assert len(small_chunks) > 2


# ------------------------------------------------------------------ write_table
def test_write_table_round_trip(spark_engine, tmp_path):
    frame = pd.DataFrame({
        "id": pd.array(["a", None, "c√é"], dtype="string"),
        "n": np.array([1, -2, 3], np.int64),
        "maybe": pd.array([1, None, 3], dtype="Int64"),
        "x": [0.5, np.nan, 2.25],
        "level": np.array([-1, 0, 3], np.int8),
        "flag": [True, False, True],
        "at": pd.to_datetime(["2024-01-02 03:04:05.123456", None, "1999-12-31 00:00:00.000000"], utc=True),
        "naive": pd.to_datetime(["2024-06-30 23:59:59", "2001-01-01 00:00:00", None]),
        "empty": pd.Series([None, None, None], dtype=object),
    })
    for _ in range(2):  # the second write overwrites the first
        spark_engine.write_table(frame, tmp_path / "t.parquet")
    assert (tmp_path / "t.parquet").is_dir()
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(back.astype(frame.dtypes.to_dict()), frame)


@pytest.fixture()
def small_slices(monkeypatch):
    """Driver-side tables sent to Spark in slices of ~4 kB (many tasks)."""
    from cxid.engine import spark as spark_module

    monkeypatch.setattr(spark_module, "SLICE_BYTES", 4096)


def test_large_tables_go_in_slices_and_keep_their_order(spark_engine, small_slices, tmp_path):
    n = 5000
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "key": pd.array([f"k{i:05d}" for i in range(n)], dtype="string[pyarrow]"),
        "kind": pd.Categorical(rng.choice(["web", "crm", "email"], n)),
        "n": np.arange(n, dtype=np.int64)[::-1].copy(),
        "at": pd.to_datetime(rng.integers(0, 2**40, n) * 1000, utc=True),  # Spark: µs
    })
    spark_engine.write_table(frame, tmp_path / "t.parquet")
    parts = sorted((tmp_path / "t.parquet").glob("part-*.parquet"))
    assert len(parts) > 5  # one part per slice, not one task holding the whole table
    back = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(back.astype(frame.dtypes.to_dict()), frame)

    def double(batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"key": batch["key"], "twice": batch["n"] * 2})

    pd.testing.assert_frame_equal(spark_engine.map_batches(double, frame, batch_rows=700),
                                  LOCAL.map_batches(double, frame))


# ------------------------------------------------------------------ end to end
def test_resolve_gives_the_same_customer_ids(spark_engine, tmp_path):
    sources = {k: str(SAMPLES / v) for k, v in FILES.items()}
    local = resolve(sources, engine="local")
    spark = resolve(sources, engine=spark_engine)
    assert len(spark.identities) > 5000
    for table in ("identities", "customers", "links", "rejected"):
        pd.testing.assert_frame_equal(getattr(spark, table), getattr(local, table))
    spark.write(tmp_path / "out", engine=spark_engine)
    back = pd.read_parquet(tmp_path / "out" / "identities.parquet")
    pd.testing.assert_frame_equal(back.astype(ARROW_STRING), local.identities)


def test_resolve_reads_sources_together_and_raises_the_first_error(spark_engine, tmp_path,
                                                                   monkeypatch):
    """Spark reads every input at once (one job each, from threads); a bad input still
    fails the run with the error reading it alone gives, and cancels the other reads."""
    cancels = []
    cancel = spark_engine.cancel_jobs
    monkeypatch.setattr(spark_engine, "cancel_jobs", lambda: (cancels.append(1), cancel()))
    bad = tmp_path / "web.jsonl"  # passes the checks; undecodable past its start
    bad.write_bytes((SAMPLES / FILES["web"]).read_bytes() + bytes(range(256)) * 64)
    sources = {"crm": str(SAMPLES / FILES["crm"]), "web": str(bad),
               "email": str(SAMPLES / FILES["email"])}
    with pytest.raises(IngestError, match="undecodable") as local_error:
        resolve(sources, engine="local")
    with pytest.raises(IngestError) as spark_error:
        resolve(sources, engine=spark_engine)
    assert str(spark_error.value) == str(local_error.value)
    assert cancels == [1]
    assert spark_engine.spark.conf.get("spark.sql.files.maxPartitionBytes") != "1"
    assert_same_read(spark_engine, "crm", str(SAMPLES / FILES["crm"]))  # session still fine


def test_config_only_for_a_session_cxid_starts(spark_engine):
    from cxid.errors import ConfigError

    with pytest.raises(ConfigError, match="session cxid starts"):
        SparkEngine(spark_engine.spark, config={"spark.driver.memory": "8g"})


OUT_OF_HEAP = """
import pandas as pd
from cxid.engine.spark import SparkEngine
from cxid.errors import CxidError
engine = SparkEngine(config={"spark.driver.memory": "512m", "spark.driver.maxResultSize": "0"})
frame = pd.DataFrame({"a": range(1500), "s": ["x" * 400_000] * 1500})
try:  # 600 MB handed to a 512 MB driver heap, before any task runs
    engine.map_batches(lambda b: b[["a"]], frame)
except CxidError as exc:
    print("CXID ERROR:", exc)
"""


def test_a_driver_out_of_heap_fails_with_a_message_not_a_hang(tmp_path):
    """Spark's threads dying of OutOfMemoryError used to leave the job waiting forever;
    the driver JVM now exits and the engine says why.

    The memory runs out on the driver's heap while it takes in the frame, before any
    task runs: a place that does not depend on the machine's cores or memory (an
    earlier version of this test ran out in tasks or while collecting, depending on
    the machine). The other forms (a task out of memory while the JVM lives on, a
    result too large) are covered with a stand-in session below."""
    import subprocess

    run = subprocess.run([sys.executable, "-c", OUT_OF_HEAP], capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)
    assert re.search(r"CXID ERROR: the Spark driver JVM stopped during map_batches",
                     run.stdout), (f"exit code {run.returncode}\nstdout:\n{run.stdout[-3000:]}"
                                   f"\nstderr:\n{run.stderr[:3000]}\n...\n{run.stderr[-3000:]}")
    assert "spark.driver.memory=8g" in run.stdout


def _answering_session():
    """Stands for a session whose JVM still answers."""
    from types import SimpleNamespace as NS

    return NS(sparkContext=NS(_jvm=NS(java=NS(lang=NS(System=NS(nanoTime=lambda: 0))))))


def test_a_task_out_of_memory_is_reported_as_such_and_other_errors_pass_through():
    from cxid.engine.spark import _jvm_lost

    class Engine:
        spark = _answering_session()

        @_jvm_lost
        def block_pairs(self, message):
            raise RuntimeError(message)

    with pytest.raises(CxidError, match=r"Spark ran out of memory during block_pairs.*8g"):
        Engine().block_pairs("Job aborted: org.apache.arrow.memory.OutOfMemoryException: "
                             "Failure allocating buffer.")
    with pytest.raises(CxidError, match=r"maxResultSize of results to the driver during "
                                        r"block_pairs.*maxResultSize=4g"):
        Engine().block_pairs("Job aborted due to stage failure: Total size of serialized "
                             "results of 3 tasks (1063.4 MiB) is bigger than "
                             "spark.driver.maxResultSize (1024.0 MiB)")
    with pytest.raises(RuntimeError, match="bad column"):
        Engine().block_pairs("bad column")


def test_cli_spark_conf_starts_the_session_with_it(tmp_path):
    """`cxid resolve --engine spark --spark-conf K=V` gives the session that setting and
    writes the same identities as the local engine."""
    import subprocess

    out = tmp_path / "out"
    probe = ("import cxid.engine.spark as s, cxid.cli as c, sys\n"
             "real = s.SparkEngine.close\n"
             "def close(self):\n"
             "    print('CONF', self.spark.conf.get('spark.sql.shuffle.partitions'))\n"
             "    real(self)\n"
             "s.SparkEngine.close = close\n"
             "sys.exit(c.main(sys.argv[1:]))\n")
    args = ["-q", "resolve", "--engine", "spark", "--spark-conf", "spark.sql.shuffle.partitions=3",
            "--source", f"crm={SAMPLES / 'crm.csv'}", "--source", f"esp={SAMPLES / 'esp_audience.csv'}",
            "--out", str(out)]
    run = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "CONF 3" in run.stdout
    local = resolve({"crm": str(SAMPLES / "crm.csv"), "esp": str(SAMPLES / "esp_audience.csv")})
    back = pd.read_parquet(out / "identities.parquet")
    pd.testing.assert_frame_equal(back.astype(ARROW_STRING), local.identities)


def test_cli_spark_conf_needs_the_spark_engine(tmp_path, capsys):
    from cxid.cli import main

    code = main(["resolve", "--source", f"crm={SAMPLES / 'crm.csv'}",
                 "--spark-conf", "spark.driver.memory=2g", "--out", str(tmp_path / "o")])
    assert code != 0
    assert "--spark-conf needs --engine spark" in capsys.readouterr().err


def test_get_engine_reuses_the_active_session(spark_engine):
    engine = get_engine("spark")
    assert engine.name == "spark" and engine.spark is spark_engine.spark
    engine.close()  # not its session: nothing stops
    assert not spark_engine.spark.sparkContext._jsc.sc().isStopped()


def test_missing_pyspark_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    monkeypatch.delitem(sys.modules, "cxid.engine.spark")
    with pytest.raises(ImportError, match=r"pip install 'cxid\[spark\]'"):
        import cxid.engine.spark  # noqa: F401
