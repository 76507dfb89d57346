"""End to end through the public API and the CLI, on the bundled samples and on a
generated population: accounting of every record, guardrails, outputs, state."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxid.cli import main
from cxid.errors import ConfigError
from cxid.evaluate import evaluate, read_labels
from cxid.pipeline import FORGOTTEN, resolve
from cxid.synth import generate

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
FILES = {"web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
         "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv"}
ZERO_DEVICE = "00000000-0000-0000-0000-000000000000"


def sample_sources(folder: Path = SAMPLES) -> dict[str, str]:
    return {k: str(folder / v) for k, v in FILES.items()}


def source_args(folder: Path = SAMPLES) -> list[str]:
    return [arg for k, v in sample_sources(folder).items() for arg in ("--source", f"{k}={v}")]


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    return generate(2000, seed=11, out_dir=tmp_path_factory.mktemp("pop2000"))


@pytest.fixture(scope="module")
def deterministic_only(population):
    return resolve(population.sources, {"matching": {"enabled": False}})


@pytest.fixture(scope="module")
def full(population):
    return resolve(population.sources)


def records_in_files(folder: Path) -> int:
    """Every record the six files hold, counted independently of cxid's readers."""
    def lines(name: str) -> int:
        text = (folder / name).read_text(encoding="utf-8")
        return sum(1 for line in text.splitlines() if line.strip())

    n = lines("web.jsonl") + lines("twitter.jsonl")
    for name in ("beacon.csv", "esp_audience.csv", "crm.csv"):
        n += len(pd.read_csv(folder / name, dtype=str))
    n += sum(1 for line in (folder / "support.mbox").read_bytes().splitlines()
             if line.startswith(b"From "))
    return n


def test_cli_resolve_and_evaluate_on_samples(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["-q", "resolve", *source_args(), "--out", str(out)]) == 0
    for name in ("identities.parquet", "customers.parquet", "links.parquet",
                 "rejected.parquet", "id_history.parquet", "manifest.json"):
        assert (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    identities = pd.read_parquet(out / "identities.parquet")
    rejected = pd.read_parquet(out / "rejected.parquet")
    counts = manifest["counts"]
    assert counts["records_in"] == len(identities) + len(rejected)
    assert counts["records_in"] == records_in_files(SAMPLES)
    assert identities.duplicated(["source", "record_id"]).sum() == 0
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])
    # every truth record comes out somewhere
    truth = read_labels(SAMPLES / "truth.csv")
    keys = set(zip(identities.source, identities.record_id, strict=True)) | set(
        zip(rejected.source, rejected.record_id.fillna(""), strict=True))
    assert set(zip(truth.source, truth.record_id, strict=True)) <= keys
    capsys.readouterr()
    assert main(["evaluate", "--truth", str(SAMPLES / "truth.csv"), "--pred", str(out),
                 "--linkable-only", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bcubed_f1"] > 0.95


def test_python_m_entry_point_and_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[sources.shop]\nkind = "crm"\npath = "nope.csv"\n'
                   '[matching]\nthreshold = 2\n', encoding="utf-8")
    assert main(["resolve", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "threshold" in err
    assert not (tmp_path / "o").exists()


def test_unknown_mapped_column_stops_before_any_work(tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("customer_id,email\nC1,a@b.fr\n", encoding="utf-8")
    config = {"sources": {"crm": {"kind": "crm", "path": str(crm),
                                  "mapping": {"email": "Adresse e-mail"}}}}
    with pytest.raises(ConfigError, match="Adresse e-mail"):
        resolve(config=config)


def test_deterministic_linking_guarantees(population, deterministic_only):
    res = deterministic_only
    tp = res.touchpoints.assign(customer_id=res.identities["customer_id"].to_numpy())
    # no customer holds two account ids
    accounts = tp.dropna(subset=["account_norm"]).groupby("customer_id")["account_norm"].nunique()
    assert accounts.max() == 1
    # the all-zeros advertising id identifies nobody: it is never evidence
    raw_zero = tp["device_id"].str.lower() == ZERO_DEVICE
    assert raw_zero.sum() > 0
    assert tp.loc[raw_zero.fillna(False), "device_norm"].isna().all()
    assert not res.links["b"].str.contains(ZERO_DEVICE, regex=False).any()
    # every input record is in identities or in rejected
    truth = read_labels(population.truth)
    counts = res.manifest["counts"]
    assert counts["identities"] + counts["rejected"] == counts["records_in"]
    assert counts["records_in"] >= len(truth)
    ev = evaluate(truth, res.identities, linkable_only=True)
    assert ev.bcubed_precision > 0.99


def test_matching_keeps_account_ids_exclusive_and_improves_recall(population, full,
                                                                   deterministic_only):
    tp = full.touchpoints.assign(customer_id=full.identities["customer_id"].to_numpy())
    accounts = tp.dropna(subset=["account_norm"]).groupby("customer_id")["account_norm"].nunique()
    assert accounts.max() == 1
    truth = read_labels(population.truth)
    det = evaluate(truth, deterministic_only.identities, linkable_only=True)
    both = evaluate(truth, full.identities, linkable_only=True)
    assert both.bcubed_recall > det.bcubed_recall
    assert both.bcubed_f1 > 0.975, both.summary()
    assert full.manifest["counts"]["match_edges"] > 0


def test_explain_and_customer_graph(full):
    big = full.largest_customers(1)["customer_id"].iloc[0]
    graph = full.customer(big)
    own = full.identities[full.identities["customer_id"] == big]
    assert graph.number_of_nodes() >= len(own)
    a = f"{own.iloc[0]['source']}:{own.iloc[0]['record_id']}"
    b = f"{own.iloc[-1]['source']}:{own.iloc[-1]['record_id']}"
    why = full.explain(a, b)
    assert why.same_customer and len(why.path) >= 1
    assert why.path.iloc[0]["a"] == f"record:{a}"
    assert "one customer" in why.text()
    other = full.identities[full.identities["customer_id"] != big].iloc[0]
    not_same = full.explain(a, f"{other['source']}:{other['record_id']}")
    assert not not_same.same_customer and "different customers" in not_same.text()


def test_same_inputs_same_ids_byte_for_byte(tmp_path):
    for name in ("one", "two"):
        assert main(["-q", "resolve", *source_args(), "--out", str(tmp_path / name)]) == 0
    a = (tmp_path / "one" / "identities.parquet").read_bytes()
    b = (tmp_path / "two" / "identities.parquet").read_bytes()
    assert a == b


def test_resolve_to_writes_the_outputs_and_the_state(tmp_path):
    import cxid

    sources = sample_sources()
    manifest = cxid.resolve_to(tmp_path / "out", sources, state=tmp_path / "state")
    written = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert written["counts"] == manifest["counts"]
    assert manifest["counts"]["identities"] + manifest["counts"]["rejected"] == \
        records_in_files(SAMPLES)
    # the state it saved carries the ids over: a second run changes none
    again = cxid.resolve(sources, state=tmp_path / "state")
    ids = pd.read_parquet(tmp_path / "out" / "identities.parquet")
    assert again.identities["customer_id"].astype(str).tolist() == \
        ids["customer_id"].astype(str).tolist()
    assert again.manifest["run"] == 2


def test_state_keeps_ids_and_incremental_equals_full(tmp_path):
    folder = tmp_path / "pop"
    generate(400, seed=5, out_dir=folder)
    sources = sample_sources(folder)
    first_five = {k: v for k, v in sources.items() if k != "twitter"}
    state = tmp_path / "state"
    run1 = resolve(first_five, state=state)
    run1.save_state(state)
    again = resolve(first_five, state=state)
    assert again.identities.equals(run1.identities)
    assert again.id_history.empty
    assert all(i["cached"] for i in again.manifest["inputs"])
    # add the Twitter file: incremental run on the state (cached inputs, same model) ...
    run2 = resolve(sources, state=state)
    assert [i["cached"] for i in run2.manifest["inputs"]] == [
        k != "twitter" for k in sources]
    # ... equals a full run from scratch with the same model
    model = tmp_path / "model.json"
    run1.model.save(model)
    full = resolve(sources, {"matching": {"model": str(model)}})
    merged = run2.identities.merge(full.identities, on=["source", "record_id"])
    assert len(merged) == len(full.identities)
    same_partition = merged.groupby("customer_id_x")["customer_id_y"].nunique().max() == 1 \
        and merged.groupby("customer_id_y")["customer_id_x"].nunique().max() == 1
    assert same_partition
    # customers untouched by the new file keep their ids
    before = run1.identities.merge(run2.identities, on=["source", "record_id"])
    moved = before.groupby("customer_id_x")["customer_id_y"].nunique()
    kept = before[before["customer_id_x"].isin(moved.index[moved == 1])]
    assert (kept["customer_id_x"] == kept["customer_id_y"]).mean() > 0.99
    # every id change is in the history
    changed = set(before.loc[before["customer_id_x"] != before["customer_id_y"], "customer_id_x"])
    assert changed <= set(run2.id_history["old_customer_id"])


def test_forget_removes_a_person_and_keeps_them_out(tmp_path, capsys):
    state, out = tmp_path / "state", tmp_path / "out"
    assert main(["-q", "resolve", *source_args(), "--out", str(out), "--state",
                 str(state)]) == 0
    before = pd.read_parquet(out / "identities.parquet")
    customers = pd.read_parquet(out / "customers.parquet")
    target = customers.dropna(subset=["email"]).nlargest(1, "records").iloc[0]
    email = target["email"]
    assert main(["-q", "forget", "--state", str(state), "--email", email, "--out",
                 str(out)]) == 0
    after = pd.read_parquet(out / "identities.parquet")
    rejected = pd.read_parquet(out / "rejected.parquet")
    gone = before[before["customer_id"] == target["customer_id"]]
    assert len(gone) > 0
    assert not after["customer_id"].eq(target["customer_id"]).any()
    forgotten = rejected[rejected["reason"] == FORGOTTEN]
    assert len(forgotten) >= len(gone)
    assert forgotten["raw"].isna().all()
    # nobody else lost their id
    others = before[before["customer_id"] != target["customer_id"]].merge(
        after, on=["source", "record_id"])
    assert (others["customer_id_x"] == others["customer_id_y"]).mean() > 0.99
    # a later run on the same files keeps them out
    assert main(["-q", "resolve", *source_args(), "--out", str(out), "--state",
                 str(state)]) == 0
    again = pd.read_parquet(out / "identities.parquet")
    assert not again.merge(gone[["source", "record_id"]]).shape[0]
    suppression = pd.read_parquet(state / "suppression.parquet")
    assert email not in set(suppression["value_hash"])  # hashes only


def test_output_tables_hold_arrow_strings_and_load_back_equal(tmp_path, full):
    """The big tables keep their strings in Arrow (no Python object per record or per
    customer), and the written outputs load back equal to the tables in memory."""
    from cxid.resolution import Resolution
    from cxid.schema import ARROW_STRING

    for table in ("identities", "customers", "links"):
        frame = getattr(full, table)
        text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)]
        assert text, table
        assert {str(frame[c].dtype.storage) for c in text} == {"pyarrow"}, table
    assert full.identities.dtypes.eq(ARROW_STRING).all()
    full.write(tmp_path / "out")
    back = Resolution.load(tmp_path / "out")
    for table in ("identities", "customers", "links", "rejected", "id_history"):
        pd.testing.assert_frame_equal(getattr(back, table), getattr(full, table))


def test_atomic_write_keeps_previous_outputs(tmp_path, monkeypatch, full):
    out = tmp_path / "out"
    full.write(out)
    before = (out / "identities.parquet").read_bytes()
    from cxid.engine import LocalEngine

    calls = {"n": 0}
    real = LocalEngine.write_table

    def crash_on_third(self, frame, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        real(self, frame, path)

    monkeypatch.setattr(LocalEngine, "write_table", crash_on_third)
    with pytest.raises(OSError, match="disk full"):
        full.write(out)
    assert (out / "identities.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def read_in_small_pieces(monkeypatch, size):
    """Make the pipeline read even the small samples in parallel, in pieces of ``size``
    bytes."""
    import cxid.pipeline as pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_BYTES", size)
    monkeypatch.setattr(pipeline, "MIN_CHUNK_BYTES", 0)


def test_parallel_chunked_reading_equals_serial(monkeypatch):
    import cxid.pipeline as pipeline

    serial = resolve(sample_sources(), workers=1)
    read_in_small_pieces(monkeypatch, 20_000)  # web.jsonl, mbox -> chunks
    chunked = []
    real = pipeline._line_ranges

    def spy(path, kind, size):
        pieces = real(path, kind, size)
        chunked.extend([kind] * len(pieces))
        return pieces

    monkeypatch.setattr(pipeline, "_line_ranges", spy)
    parallel = resolve(sample_sources(), workers=2)
    pd.testing.assert_frame_equal(parallel.touchpoints, serial.touchpoints)
    pd.testing.assert_frame_equal(parallel.identities, serial.identities)
    key = ["source", "file", "line"]
    pd.testing.assert_frame_equal(
        parallel.rejected.sort_values(key).reset_index(drop=True),
        serial.rejected.sort_values(key).reset_index(drop=True))
    assert chunked.count("web") > 2 and chunked.count("email") > 2
    # the workers hash the inputs along with reading them: same hashes and cache keys
    import hashlib

    for one, other in zip(serial.manifest["inputs"], parallel.manifest["inputs"], strict=True):
        assert one["sha256"] == other["sha256"] == hashlib.sha256(
            Path(one["path"]).read_bytes()).hexdigest()
        assert one["cache_key"] == other["cache_key"]


def test_only_line_oriented_twitter_files_are_split(tmp_path):
    import json

    from cxid.ingest._chunks import splittable

    users = [{"id": str(i), "username": f"user{i}", "name": f"User {i}"} for i in range(50)]
    lines = tmp_path / "users.jsonl"
    lines.write_text("\n".join(json.dumps(u) for u in users) + "\n", encoding="utf-8")
    document = tmp_path / "users.json"
    document.write_text(json.dumps({"data": users}, indent=2), encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text(json.dumps(users), encoding="utf-8")
    assert splittable("twitter", lines)
    assert not splittable("twitter", document)  # pretty-printed: split lines are not JSON
    assert not splittable("twitter", array)
    assert splittable("web", lines) and not splittable("crm", lines)


@pytest.mark.parametrize("name,kind", [("web.jsonl", "web"), ("support.mbox", "email")])
def test_line_ranges_cut_at_record_starts_and_cover_the_file(name, kind):
    from cxid.ingest._chunks import count_records, line_ranges, read_range

    path = str(Path(__file__).resolve().parents[1] / "data" / "samples" / name)
    data = Path(path).read_bytes()
    whole = count_records(data, kind)
    for size in (1, 7, 5_000, 20_000, len(data), 10 * len(data)):
        pieces = line_ranges(path, kind, size)
        assert pieces[0][0] == 0 and pieces[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
        for start, _ in pieces[1:]:
            assert data[start - 1:start] == b"\n"
            assert kind != "email" or data[start:start + 5] == b"From "
        assert sum(count_records(read_range(path, s, e), kind) for s, e in pieces) == whole
        if size < len(data) // 4:
            assert len(pieces) > 2


def test_two_split_inputs_read_in_parallel_equal_serial(tmp_path, monkeypatch):
    """Two inputs split into pieces that start at the same offsets, read in parallel,
    give what a serial read gives (the second web file holds the first's lines
    reversed). Each worker writes its piece under a name no other piece can take."""
    import cxid.pipeline as pipeline
    from cxid.config import SourceConfig

    lines = (SAMPLES / "web.jsonl").read_bytes().splitlines(keepends=True)
    other = tmp_path / "web2.jsonl"
    other.write_bytes(b"".join(reversed(lines)))
    sources = [SourceConfig(name="web", kind="web", path=str(SAMPLES / "web.jsonl")),
               SourceConfig(name="web2", kind="web", path=str(other))]
    serial = pipeline.read_sources(sources, workers=1)[0]
    read_in_small_pieces(monkeypatch, 50_000)
    pieces = []
    real = pipeline._line_ranges

    def spy(path, kind, size):
        pieces.append(real(path, kind, size))
        return pieces[-1]

    monkeypatch.setattr(pipeline, "_line_ranges", spy)
    parallel = pipeline.read_sources(sources, workers=2)[0]
    assert len(pieces) == 2 and all(len(p) > 5 for p in pieces)
    assert pieces[0][0][0] == pieces[1][0][0] == 0
    pd.testing.assert_frame_equal(parallel, serial)


def test_workers_fall_back_to_the_temp_folder_when_shared_memory_is_short(monkeypatch, tmp_path):
    """Containers often give /dev/shm 64 MB: without room there, the workers' pieces and
    results go to the system's temporary folder, with the same frames; either way the
    scratch folder is left empty."""
    import tempfile

    import cxid.pipeline as pipeline
    from cxid.config import SourceConfig

    assert pipeline._scratch_dir(need=1 << 62) is None  # more than any /dev/shm holds
    sources = [SourceConfig(name="web", kind="web", path=str(SAMPLES / "web.jsonl")),
               SourceConfig(name="email", kind="email", path=str(SAMPLES / "support.mbox"))]
    serial = pipeline.read_sources(sources, workers=1)[0]
    read_in_small_pieces(monkeypatch, 50_000)
    folders = []
    real = pipeline._scratch_dir

    def no_room(need):
        folders.append(real(need))
        return None

    monkeypatch.setattr(pipeline, "_scratch_dir", no_room)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    parallel = pipeline.read_sources(sources, workers=2)[0]
    pd.testing.assert_frame_equal(parallel, serial)
    assert folders and list(tmp_path.iterdir()) == []


def test_pieces_of_an_input_concatenate_without_python_objects_per_row():
    """The user-agent column of a split input's pieces has a different category set in
    each piece: it stays categorical (sorted union), equal to what pd.concat + a fresh
    Categorical give, and the columns keep pd.concat's order."""
    from cxid._frames import concat_rows

    a = pd.DataFrame({"x": [1, 2], "ua": pd.Categorical(["b", None]), "s": ["p", "q"]})
    b = pd.DataFrame({"x": [3], "ua": pd.Categorical(["a"]), "extra": ["e"]})
    got = concat_rows([a, b])
    want = pd.concat([a, b], ignore_index=True)
    assert want["ua"].dtype == object  # what pandas alone does
    assert isinstance(got["ua"].dtype, pd.CategoricalDtype)
    assert list(got["ua"].cat.categories) == ["a", "b"]
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.assign(ua=got["ua"].astype(object)), want)


def test_engine_runs_independent_steps_at_once_and_in_order():
    import threading

    from cxid.engine import LocalEngine

    both = threading.Barrier(2, timeout=10)  # passes only if the two run at once

    def meet(value):
        both.wait()
        return value, threading.current_thread().name

    results = LocalEngine(threads=2).concurrently(lambda: meet("a"), lambda: meet("b"))
    assert [r[0] for r in results] == ["a", "b"]
    assert results[0][1] != results[1][1]
    main_thread = threading.current_thread().name
    one = LocalEngine(threads=1).concurrently(lambda: threading.current_thread().name,
                                              lambda: threading.current_thread().name)
    assert one == [main_thread, main_thread]

    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        LocalEngine(threads=2).concurrently(lambda: 1, fail)


def test_one_thread_gives_the_same_outputs_as_several(population, full):
    single = resolve(population.sources, workers=1)
    for table in ("identities", "customers", "links", "rejected"):
        pd.testing.assert_frame_equal(getattr(single, table), getattr(full, table))
    assert single.manifest["counts"] == full.manifest["counts"]
    pd.testing.assert_frame_equal(single.pairs, full.pairs)


def test_forked_steps_return_their_results_errors_and_survive_a_dead_child(caplog):
    import os
    import sys

    from cxid.engine import LocalEngine

    if sys.platform != "linux":
        pytest.skip("fork is used on Linux only")
    parent = os.getpid()
    eng = LocalEngine(threads=2)
    here, there = eng.concurrently(os.getpid, os.getpid, fork=True)
    assert here == parent and there != parent  # the second ran in another process
    big = eng.concurrently(lambda: 1, lambda: np.arange(3_000_000), fork=True)[1]
    assert big.sum() == np.arange(3_000_000).sum()  # results larger than a pipe buffer

    def fail():
        raise ValueError("boom in the child")

    with pytest.raises(ValueError, match="boom in the child"):
        eng.concurrently(lambda: 1, fail, fork=True)

    def die_unless_parent():
        if os.getpid() != parent:
            os._exit(3)  # e.g. killed for memory: no result comes back
        return "done here"

    with caplog.at_level("WARNING", logger="cxid.engine"):
        assert eng.concurrently(lambda: 1, die_unless_parent, fork=True) == [1, "done here"]
    assert "exit code 3" in caplog.text
    # one thread: everything in this process, in order
    assert LocalEngine(threads=1).concurrently(os.getpid, os.getpid, fork=True) == [parent,
                                                                                   parent]
