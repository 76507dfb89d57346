"""Spark engine (local mode) against the local engine on the same inputs.

    python bench/scale_spark.py --persons 6000 60000 [--data DIR ...] [--seed 3]
                                [--out bench/out] [--timeout 3600] [--driver-memory 8g]
                                [--engines local spark spark_driver]
                                [--spark-conf spark.driver.maxResultSize=0 ...]

For each population (generated once with ``cxid.synth`` into ``OUT/data_<persons>_seed<seed>``,
or the folders given with ``--data``, which must hold the six native files) it runs
``python -m cxid -q resolve --engine local`` and ``--engine spark`` on the six files, each
in a fresh measured process (and ``cxid.resolve(engine="spark")``, the driver flow),
and reports wall time, peak RSS of the whole process tree (the Spark JVM and its
Python workers are children of the measured process, so they are counted) and of the
Python driver process alone (what the frame flow keeps small), stage timings from
the run manifest, and whether the Spark runs gave every record the local engine's
customer id. Writes ``OUT/scale_spark.json``. Reports numbers; asserts
nothing: a run over ``--timeout`` is stopped and reported as timed out, a failed run
(e.g. the JVM out of heap) is reported with its first error line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bench_vs_splink import SOURCE_FILES, ensure_data, machine, measured_run

#: local: the local engine; spark: the Spark frame flow (what ``cxid resolve --engine
#: spark`` runs); spark_driver: ``cxid.resolve(engine="spark")``, whose Python driver
#: holds the per-record frames between engine operations (the flow before the frame
#: flow; still the one for runs with a state).
ENGINES = ("local", "spark", "spark_driver")
_DRIVER_FLOW = ("import sys; from cxid.pipeline import resolve; "
                "files = dict(a.split('=', 1) for a in sys.argv[2:]); "
                "resolve(files, engine='spark').write(sys.argv[1], engine='spark')")


def same_customer_ids(local_out: Path, spark_out: Path) -> dict[str, Any]:
    """Compare the identities tables of two runs (record -> customer id)."""
    import pandas as pd

    key = ["source", "record_id"]
    local = pd.read_parquet(local_out / "identities.parquet").astype("string")
    spark = pd.read_parquet(spark_out / "identities.parquet").astype("string")
    both = local.merge(spark, on=key, how="outer", suffixes=("_local", "_spark"),
                       indicator=True)
    differ = both["_merge"] != "both"
    differ |= (both["customer_id_local"] != both["customer_id_spark"]).fillna(True)
    return {"records": len(local), "records_spark": len(spark),
            "records_differing": int(differ.sum()),
            "identical": bool(len(local) == len(spark) and not differ.any()
                              and local.equals(spark))}


def run_engine(engine: str, files: dict[str, Path], out: Path, name: str,
               timeout: float) -> dict[str, Any]:
    """One measured ``cxid resolve`` run; its measurement plus the manifest's numbers."""
    run_out = out / name
    if engine == "spark_driver":
        cmd = [sys.executable, "-c", _DRIVER_FLOW, str(run_out),
               *[f"{k}={files[k]}" for k in SOURCE_FILES]]
    else:
        cmd = [sys.executable, "-m", "cxid", "-q", "resolve", f"--engine={engine}",
               *[f"--source={k}={files[k]}" for k in SOURCE_FILES], f"--out={run_out}"]
    print(f"[{name}] ...", end=" ", flush=True)
    work = out / "scale_spark_work"
    try:
        m = measured_run(cmd, work, name, timeout)
    except SystemExit:  # a failed run is a result too (e.g. the JVM ran out of heap)
        m = json.loads((work / f"{name}.measure.json").read_text())
        m["peak_rss_mb"] = max(m["peak_rss_sampled_mb"], m["ru_maxrss_mb"])
        log = (work / f"{name}.log").read_text(errors="replace")
        m["error"] = next((line.strip() for line in log.splitlines()
                           if "Error" in line and "Traceback" not in line), "see the log")
        m["log"] = str(work / f"{name}.log")
        print(f"FAILED after {m['wall_seconds']:.0f} s: {m['error']}", flush=True)
        return {"engine": engine, "out": str(run_out), "failed": True, **m}
    if m["timed_out"]:
        print(f"timed out after {m['wall_seconds']:.0f} s", flush=True)
        return {"engine": engine, "out": str(run_out), "failed": True, **m}
    print(f"{m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MB", flush=True)
    manifest = json.loads((run_out / "manifest.json").read_text())
    return {"engine": engine, "out": str(run_out), **m,
            "touchpoints": manifest["counts"]["records_in"],
            "candidate_pairs": manifest["counts"]["candidate_pairs"],
            "customers": manifest["counts"]["customers"],
            "stage_seconds": manifest.get("stage_seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, nargs="*", default=[6000, 60000])
    parser.add_argument("--data", type=Path, nargs="*", default=[],
                        help="folders already holding the six files (used after --persons)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES),
                        help="which runs to make (customer ids are compared with the "
                             "local run's when it is one of them)")
    parser.add_argument("--driver-memory", default=None,
                        help="Spark driver JVM heap (local mode runs the executors in it); "
                             "default: Spark's own (1g)")
    parser.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting for the Spark runs (repeatable)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    submit = [f"--driver-memory {args.driver_memory}"] if args.driver_memory else []
    submit += [f"--conf {kv}" for kv in args.spark_conf]
    if submit:  # inherited by the measured processes
        os.environ["PYSPARK_SUBMIT_ARGS"] = " ".join([*submit, "pyspark-shell"])
    inputs = [(f"{p}", ensure_data(out / f"data_{p}_seed{args.seed}", p, args.seed))
              for p in args.persons]
    for folder in args.data:
        files = {k: folder / v for k, v in SOURCE_FILES.items()}
        missing = [str(p) for p in files.values() if not p.exists()]
        if missing:
            raise SystemExit(f"--data {folder}: missing {', '.join(missing)}")
        inputs.append((folder.name, files))

    rows = []
    for label, files in inputs:
        runs = {e: run_engine(e, files, out, f"scale_spark_{label}_{e}", args.timeout)
                for e in args.engines}
        done = "local" in runs and not any(r.get("failed") for r in runs.values())
        compare = {e: same_customer_ids(Path(runs["local"]["out"]), Path(runs[e]["out"]))
                   for e in runs if e != "local"} if done else None
        rows.append({"input": label, "runs": runs, "customer_ids": compare})
    result = {"machine": machine(), "driver_memory": args.driver_memory,
              "spark_conf": args.spark_conf, "inputs": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale_spark.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"\n{'input':>10} {'touchpoints':>12} {'engine':>12} {'time s':>16} {'peak GB':>8} "
          f"{'Python GB':>9} {'same ids':>8}")
    for row in rows:
        for engine, r in row["runs"].items():
            same = "-" if row["customer_ids"] is None or engine == "local" else \
                ("yes" if row["customer_ids"][engine]["identical"] else "NO")
            time_s = f"{r['wall_seconds']:.1f}" + (" (timeout)" if r["timed_out"] else
                                                   " (failed)" if r.get("failed") else "")
            print(f"{row['input']:>10} {r.get('touchpoints', 0):>12,} {engine:>12} "
                  f"{time_s:>16} {r['peak_rss_mb'] / 1024:>8.2f} "
                  f"{r.get('peak_rss_root_mb', 0) / 1024:>9.2f} {same:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
