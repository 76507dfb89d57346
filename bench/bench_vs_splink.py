"""Benchmark cxid against Splink 5 (DuckDB) on the same synthetic population.

    python bench/bench_vs_splink.py --persons 20000 --repeat 3 [--seed 1] [--data DIR]
                                    [--out bench/out] [--timeout 1200]

1. Generates the six native sources and truth once (``cxid.synth.generate``) unless
   ``--data`` already holds them.
2. Exports cxid's normalised touchpoints to parquet for Splink (untimed: Splink cannot
   read the native formats, so it gets cxid's readers and normalisers for free), and
   the same rows with all of cxid's touchpoint columns for ``cxid_normalised``.
3. Runs, ``--repeat`` times and alternating, ``python -m cxid resolve`` on the native
   files (``cxid``), on a primed state (``cxid_linking``) and on the normalised
   touchpoints parquet (``cxid_normalised``, cold: no state), and
   ``bench/_splink_model.py run`` on Splink's parquet, each in a fresh process
   started by a fresh wrapper process that measures its wall time and peak RSS.
4. Scores both with ``cxid.evaluate.evaluate`` (all records, and linkable ones only)
   and writes ``OUT/results_<persons>.json``.

Exits non-zero when a run fails. A run that exceeds ``--timeout`` is stopped and
reported as timed out (not a failure: it is a result).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    import pandas as pd

BENCH_DIR = Path(__file__).resolve().parent
SPLINK_SCRIPT = BENCH_DIR / "_splink_model.py"

#: cxid source name (= reader kind) -> file written by cxid.synth.generate
SOURCE_FILES: dict[str, str] = {
    "web": "web.jsonl",
    "beacon": "beacon.csv",
    "twitter": "twitter.jsonl",
    "email": "support.mbox",
    "esp": "esp_audience.csv",
    "crm": "crm.csv",
}
TRUTH_FILE = "truth.csv"
POLL_SECONDS = 0.05

#: Splink configurations run by the bench (extra arguments to _splink_model.py run).
#: ``splink``: the standard Splink recipe (u of every comparison from random sampling).
#: ``splink_fixed_u``: the same, but the u of identifier exact matches is fixed at 1e-9
#: instead of sampled: random pairs that share a cookie, device, account or loyalty id
#: are nearly all true matches, so sampling measures the match rate, not the
#: non-match rate, and a lone identifier can never reach the 0.9 threshold.
SPLINK_VARIANTS: dict[str, list[str]] = {
    "splink": [],
    "splink_fixed_u": ["--fixed-id-u", "1e-9"],
}
MEASURE_FLAG = "--_measure"
# The wrapper process that measures a run imports only the standard library and psutil
# (pandas and cxid are imported inside the functions that need them): a child is forked
# from the wrapper, so a heavy wrapper would inflate the child's ru_maxrss.


# --------------------------------------------------------------------------- measuring


def _tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and all its descendants, in bytes (0 once it is gone)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            total += p.memory_info().rss
    return total


def measure_child(result_path: Path, timeout: float, log_path: Path, cmd: list[str]) -> int:
    """Wrapper-process side: run ``cmd``, poll its process tree's RSS every 50 ms, and
    write wall time, sampled peak RSS (of the tree, and of the process itself: with
    Spark, the Python driver without its JVM and workers) and ``ru_maxrss`` of the
    children to ``result_path``. Runs in a fresh process, so RUSAGE_CHILDREN covers only ``cmd``."""
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        proc = psutil.Process(child.pid)
        peak = root = 0
        timed_out = False
        while child.poll() is None:
            peak = max(peak, _tree_rss(proc))
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                root = max(root, proc.memory_info().rss)  # the Python process alone
            if time.perf_counter() - started > timeout:
                timed_out = True
                os.killpg(child.pid, signal.SIGKILL)  # the session this wrapper started
                child.wait()
                break
            time.sleep(POLL_SECONDS)
        wall = time.perf_counter() - started
    maxrss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    result = {
        "returncode": child.returncode,
        "timed_out": timed_out,
        "wall_seconds": wall,
        "peak_rss_sampled_mb": peak / 2**20,
        "peak_rss_root_mb": root / 2**20,
        "ru_maxrss_mb": maxrss_kib / 1024,
    }
    result_path.write_text(json.dumps(result) + "\n")
    return 0


def measured_run(cmd: list[str], work: Path, name: str, timeout: float) -> dict[str, Any]:
    """Run ``cmd`` under a fresh wrapper process; returns the measurement.

    Peak RSS is the larger of the sampled process-tree RSS and ``ru_maxrss`` (which
    catches a peak shorter than the polling interval, for the largest single process).
    """
    work.mkdir(parents=True, exist_ok=True)
    result_path = work / f"{name}.measure.json"
    log_path = work / f"{name}.log"
    result_path.unlink(missing_ok=True)
    wrapper = [sys.executable, str(Path(__file__).resolve()), MEASURE_FLAG,
               str(result_path), str(timeout), str(log_path), "--", *cmd]
    subprocess.run(wrapper, check=True)
    m = json.loads(result_path.read_text())
    m["peak_rss_mb"] = max(m["peak_rss_sampled_mb"], m["ru_maxrss_mb"])
    m["log"] = str(log_path)
    if m["returncode"] != 0 and not m["timed_out"]:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{name} failed (exit {m['returncode']}): {' '.join(cmd)}\n"
                         f"--- last lines of {log_path} ---\n{tail}")
    return m


# --------------------------------------------------------------------------- data


def ensure_data(data: Path, persons: int, seed: int) -> dict[str, Path]:
    """The six source files and truth in ``data``, generated when any is missing."""
    wanted = {**{k: data / v for k, v in SOURCE_FILES.items()}, "truth": data / TRUTH_FILE}
    if not all(p.exists() for p in wanted.values()):
        from cxid.synth import generate

        print(f"generating {persons:,} persons (seed {seed}) into {data} ...", flush=True)
        started = time.perf_counter()
        generate(persons, seed=seed, out_dir=data)
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
        missing = [str(p) for p in wanted.values() if not p.exists()]
        if missing:
            raise SystemExit(f"cxid.synth.generate did not write: {', '.join(missing)}")
    return wanted


def export_for_splink(files: dict[str, Path], target: Path,
                      normalised: Path | None = None) -> dict[str, Any]:
    """Read and normalise the sources with cxid's own API and write the touchpoints
    Splink will load: ``unique_id`` (row number), ``source``, ``record_id`` and every
    ``*_norm`` column. With ``normalised``, also write the same rows with all of cxid's
    touchpoint columns there, as ``cxid resolve --write-touchpoints`` does (the input
    of ``cxid_normalised``). Untimed: it is the head start Splink is given."""
    from cxid.config import SourceConfig, load_config
    from cxid.pipeline import read_sources
    from cxid.schema import NORM_COLUMNS

    started = time.perf_counter()
    cfg = load_config(None)
    sources = [SourceConfig(name=name, kind=name, path=str(files[name]))
               for name in SOURCE_FILES]
    # Exactly what `resolve` does before linking: read_sources checks, reads and
    # normalises every source (no state, so no cache). Older versions returned raw
    # touchpoints and left normalisation to the caller; handle both.
    read = read_sources(sources, progress=False, default_region=cfg.default_region)
    touchpoints, rejected = read[0], read[1]
    if not set(NORM_COLUMNS) <= set(touchpoints.columns):
        from cxid.normalize import normalize_touchpoints

        touchpoints, _ = normalize_touchpoints(touchpoints, default_region=cfg.default_region)
    frame = touchpoints[["source", "record_id", *NORM_COLUMNS]].copy()
    for col in frame.columns:
        frame[col] = frame[col].astype("string")
    frame.insert(0, "unique_id", range(len(frame)))
    target.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(target, index=False)
    if normalised is not None:
        from cxid.resolution import touchpoints_output

        normalised.parent.mkdir(parents=True, exist_ok=True)
        touchpoints_output(touchpoints).to_parquet(normalised, index=False)
    return {"records": len(frame), "rejected_by_readers": len(rejected),
            "seconds": round(time.perf_counter() - started, 3)}


def count_splink_pairs(parquet: Path, out: Path, timeout: float) -> dict[str, Any]:
    """Candidate pairs of Splink's prediction blocking rules, in an untimed process."""
    print("counting Splink's candidate pairs (untimed) ...", flush=True)
    count = subprocess.run(
        [sys.executable, str(SPLINK_SCRIPT), "count", "--input", str(parquet),
         "--out", str(out)],
        capture_output=True, text=True, timeout=timeout,
    )
    if count.returncode != 0:
        raise SystemExit(f"Splink pair count failed:\n{count.stderr[-4000:]}")
    result: dict[str, Any] = json.loads((out / "splink_pairs.json").read_text())
    return result


# --------------------------------------------------------------------------- scoring


def score(truth: pd.DataFrame, predicted: pd.DataFrame) -> dict[str, Any]:
    """Accuracy on all records and on linkable ones, plus the customer count."""
    from cxid.evaluate import evaluate

    return {
        "customers": int(predicted["customer_id"].nunique()),
        "all": evaluate(truth, predicted).to_dict(),
        "linkable_only": evaluate(truth, predicted, linkable_only=True).to_dict(),
    }


def cxid_identities(out: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.read_parquet(out / "identities.parquet",
                           columns=["source", "record_id", "customer_id"])


def splink_identities(out: Path, ids: pd.DataFrame) -> pd.DataFrame:
    """Splink's clusters as (source, record_id, customer_id). A record absent from the
    clusters is left out here and counted as a singleton by ``evaluate``."""
    import pandas as pd

    clusters = pd.read_parquet(out / "clusters.parquet")
    merged = ids.merge(clusters, on="unique_id", how="inner", validate="one_to_one")
    return pd.DataFrame({
        "source": merged["source"].astype("string"),
        "record_id": merged["record_id"].astype("string"),
        "customer_id": merged["cluster_id"].astype("string"),
    })


# --------------------------------------------------------------------------- reporting


def speed_probe(rounds: int = 3) -> float:
    """Median seconds of a fixed single-core workload (a Python loop, a numpy sort):
    this VM's speed varies by up to 50 % hour to hour, so each measured run records
    how fast the machine was just before it. Lower is faster; compare runs by it."""
    import numpy as np

    values = np.random.default_rng(0).random(2_000_000)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        sum(range(10_000_000))
        np.sort(values)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    versions = {}
    for pkg in ("cxid", "splink", "duckdb", "pandas", "pyarrow", "numpy", "scipy",
                "rapidfuzz", "psutil"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "versions": versions,
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    finished = [r for r in runs if not r["timed_out"]]
    walls = [r["wall_seconds"] for r in finished]
    return {
        "status": "ok" if len(finished) == len(runs) else "timeout",
        "runs": len(runs),
        "wall_seconds_all": [round(w, 3) for w in walls],
        "wall_seconds_median": round(statistics.median(walls), 3) if walls else None,
        "peak_rss_mb_all": [round(r["peak_rss_mb"], 1) for r in finished],
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in finished), 1) if finished else None,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print()
    print(f"machine: {m['platform']} | {m['cpu']} | {m['cores']} cores | {m['ram_gb']} GB RAM")
    print(f"python {m['python']} | " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    d = results["data"]
    print(f"data: {results['persons']:,} persons, {d['records']:,} touchpoints "
          f"({d['rejected_by_readers']:,} rejected by readers), seed {results['seed']}")
    print()
    head = (f"{'tool':<16}{'median s':>10}{'peak MB':>10}{'customers':>11}"
            f"{'pw P':>8}{'pw R':>8}{'pw F1':>8}{'b3 P':>8}{'b3 R':>8}{'b3 F1':>8}  scope")
    print(head)
    print("-" * len(head))
    for tool in results["tools"]:
        r = results[tool]
        acc = r.get("accuracy")
        if acc is None:
            print(f"{tool:<16}{_fmt(r['wall_seconds_median'], '10.1f')}"
                  f"{_fmt(r['peak_rss_mb'], '10.0f')}  ({r['status']})")
            continue
        for scope in ("all", "linkable_only"):
            e = acc[scope]
            first = scope == "all"
            lead = (f"{tool:<16}{_fmt(r['wall_seconds_median'], '10.1f')}"
                    f"{_fmt(r['peak_rss_mb'], '10.0f')}{acc['customers']:>11}"
                    if first else " " * 47)
            print(f"{lead}"
                  f"{e['pairwise_precision']:8.4f}{e['pairwise_recall']:8.4f}"
                  f"{e['pairwise_f1']:8.4f}{e['bcubed_precision']:8.4f}"
                  f"{e['bcubed_recall']:8.4f}{e['bcubed_f1']:8.4f}  {scope}")
    print()
    for variant, ratio in results["ratios"].items():
        print(f"{variant}: time {_fmt(ratio['time'], '.2f')}x, "
              f"peak memory {_fmt(ratio['memory'], '.2f')}x")
    for tool in results["tools"]:
        print(f"pairs {tool}: {results[tool].get('pairs')}")


# --------------------------------------------------------------------------- main


def use_this_cxid() -> None:
    """Make the ``python -m cxid`` runs import the cxid this script imports (a work
    tree's ``src`` given by PYTHONPATH, not another copy installed in the venv)."""
    import cxid

    src = str(Path(cxid.__file__).resolve().parent.parent)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([src, *paths])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None,
                        help="folder with the sources and truth.csv "
                             "(default OUT/data_<persons>_seed<seed>; generated if missing)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "out")
    parser.add_argument("--timeout", type=float, default=1200.0,
                        help="seconds after which a run is stopped and reported as timed out")
    parser.add_argument("--splink", nargs="+", choices=list(SPLINK_VARIANTS),
                        default=list(SPLINK_VARIANTS), help="Splink configurations to run")
    args = parser.parse_args(argv)
    if args.persons < 1 or args.repeat < 1:
        parser.error("--persons and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    args = parse_args(argv)
    use_this_cxid()
    out: Path = args.out.resolve()
    data: Path = (args.data or out / f"data_{args.persons}_seed{args.seed}").resolve()
    work = out / f"work_{args.persons}"
    files = ensure_data(data, args.persons, args.seed)

    parquet = work / "splink_input" / "touchpoints.parquet"
    normalised = work / "cxid_normalised_input" / "touchpoints.parquet"
    print("exporting cxid-normalised touchpoints for Splink and cxid_normalised (untimed) ...",
          flush=True)
    export = export_for_splink(files, parquet, normalised)
    print(f"  {export['records']:,} touchpoints in {export['seconds']:.1f} s", flush=True)
    ids = pd.read_parquet(parquet, columns=["unique_id", "source", "record_id"])
    truth = pd.read_csv(files["truth"], dtype=str, keep_default_na=False)

    cxid_resolve = [sys.executable, "-m", "cxid", "-q", "resolve",
                    *[f"--source={name}={files[name]}" for name in SOURCE_FILES]]
    commands: dict[str, list[str]] = {"cxid": cxid_resolve}
    # cxid_linking: the same run on a state folder whose input cache already holds the
    # normalised touchpoints (like Splink's parquet), with the model fitted afresh
    # (--refit): reading and normalising are skipped, everything else is timed.
    primed = work / "cxid_primed_state"
    if not primed.exists():
        print("priming a cxid state for cxid_linking (untimed) ...", flush=True)
        subprocess.run([*cxid_resolve, f"--out={work / 'cxid_prime_out'}",
                        f"--state={primed}"], check=True)
    commands["cxid_linking"] = [*cxid_resolve, "--refit"]
    # cxid_normalised: like for like with Splink: cxid given the same normalised rows
    # in one parquet file (all its touchpoint columns), cold: no state, no cache
    commands["cxid_normalised"] = [sys.executable, "-m", "cxid", "-q", "resolve",
                                   f"--source=touchpoints={normalised}"]
    for variant in args.splink:
        commands[variant] = [sys.executable, str(SPLINK_SCRIPT), "run", "--input", str(parquet),
                             "--seed", str(args.seed), *SPLINK_VARIANTS[variant]]
    tools = list(commands)
    runs: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    scores: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    last_out: dict[str, Path] = {}
    probes: list[float] = []
    for i in range(1, args.repeat + 1):
        probes.append(speed_probe())
        print(f"round {i}: speed probe {probes[-1]:.3f} s (lower is faster)", flush=True)
        for tool in tools:
            if runs[tool] and runs[tool][-1]["timed_out"]:
                continue  # it did not finish once; do not spend another timeout on it
            run_out = work / f"{tool}_run{i}"
            command = [*commands[tool], f"--out={run_out}"]
            if tool == "cxid_linking":
                state = work / f"cxid_linking_state{i}"
                shutil.rmtree(state, ignore_errors=True)
                shutil.copytree(primed, state)
                command.append(f"--state={state}")
            print(f"[{i}/{args.repeat}] {tool} ...", end=" ", flush=True)
            m = measured_run(command, work, f"{tool}_run{i}", args.timeout)
            runs[tool].append(m)
            if m["timed_out"]:
                print(f"TIMED OUT after {args.timeout:.0f} s, stopped", flush=True)
                continue
            predicted = (cxid_identities(run_out) if tool.startswith("cxid")
                         else splink_identities(run_out, ids))
            scores[tool].append(score(truth, predicted))
            last_out[tool] = run_out
            print(f"{m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MB, "
                  f"B-cubed F1 {scores[tool][-1]['all']['bcubed_f1']:.4f} (all), "
                  f"{scores[tool][-1]['linkable_only']['bcubed_f1']:.4f} (linkable)",
                  flush=True)

    results: dict[str, Any] = {
        "persons": args.persons,
        "seed": args.seed,
        "repeat": args.repeat,
        "timeout_seconds": args.timeout,
        "data_dir": str(data),
        "data": export,
        "machine": machine(),
        "speed_probe_seconds": probes,
        "tools": tools,
        "splink_variants": {v: SPLINK_VARIANTS[v] for v in args.splink},
    }
    for tool in tools:
        summary = summarise(runs[tool])
        summary["accuracy"] = scores[tool][0] if scores[tool] else None
        summary["accuracy_identical_across_runs"] = (
            all(s == scores[tool][0] for s in scores[tool]) if scores[tool] else None)
        results[tool] = summary

    for tool in ("cxid", "cxid_normalised"):
        if tool not in last_out:
            continue
        manifest = json.loads((last_out[tool] / "manifest.json").read_text())
        results[tool]["pairs"] = {
            "fragments": manifest.get("counts", {}).get("fragments"),
            "candidate_pairs": manifest.get("matching", {}).get("candidate_pairs"),
        }
        results[tool]["manifest_counts"] = manifest.get("counts")

    splink_pairs = None
    for variant in args.splink:
        if variant not in last_out:
            continue
        if splink_pairs is None:  # same blocking rules for every variant: count once
            splink_pairs = count_splink_pairs(parquet, work / "splink_count", args.timeout)
        stats = json.loads((last_out[variant] / "splink_stats.json").read_text())
        results[variant]["pairs"] = {
            "candidate_pairs": splink_pairs["candidate_pairs"],
            "scored_pairs_at_or_above_predict_threshold":
                stats["scored_pairs_at_or_above_predict_threshold"],
            "edges_at_or_above_cluster_threshold": stats["edges_at_or_above_cluster_threshold"],
        }
        results[variant]["candidate_pairs_by_rule"] = splink_pairs["marginal_pairs_by_rule"]
        results[variant]["stage_seconds_last_run"] = stats["stage_seconds"]
        results[variant]["em_sessions"] = stats["em_sessions"]
        results[variant]["untrained_levels"] = stats["untrained"]
        results[variant]["probability_two_random_records_match"] = (
            stats["probability_two_random_records_match"])

    results["ratios"] = {}
    for base in ("cxid", "cxid_linking", "cxid_normalised"):
        c = results[base]
        for variant in args.splink:
            v = results[variant]
            both = bool(c["wall_seconds_median"] and v["wall_seconds_median"])
            results["ratios"][f"{variant}/{base}"] = {
                "time": round(v["wall_seconds_median"] / c["wall_seconds_median"], 3)
                if both else None,
                "memory": round(v["peak_rss_mb"] / c["peak_rss_mb"], 3) if both else None,
            }

    out.mkdir(parents=True, exist_ok=True)
    target = out / f"results_{args.persons}.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print_report(results)
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == MEASURE_FLAG:
        # wrapper process: --_measure RESULT TIMEOUT LOG -- CMD...
        _, _, result_arg, timeout_arg, log_arg, sep, *child_cmd = sys.argv
        if sep != "--" or not child_cmd:
            raise SystemExit(f"usage: {MEASURE_FLAG} RESULT TIMEOUT LOG -- CMD...")
        sys.exit(measure_child(Path(result_arg), float(timeout_arg), Path(log_arg), child_cmd))
    sys.exit(main())
