"""Scale of the local engine: wall time, peak RSS and pairs compared by input size.

    python bench/scale_local.py --persons 6000 60000 590000 [--repeat 1] [--out bench/out]

For each population size (about 17 touchpoints per person: 6k -> 100k touchpoints,
60k -> 1M, 590k -> 10M) it generates the data once (``cxid.synth``), runs
``python -m cxid -q resolve`` on the six native files in a fresh measured process, and
reports the median wall time, peak RSS, touchpoints, candidate pairs compared, stage
timings from the run manifest, and B-cubed accuracy on linkable records.
Writes ``OUT/scale_local.json``. Reports numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from bench_vs_splink import SOURCE_FILES, ensure_data, machine, measured_run, speed_probe


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from cxid.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, nargs="+", default=[6000, 60000, 590000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args(argv)
    out = args.out.resolve()
    rows = []
    for persons in args.persons:
        data = out / f"data_{persons}_seed{args.seed}"
        files = ensure_data(data, persons, args.seed)
        runs = []
        for i in range(1, args.repeat + 1):
            run_out = out / f"scale_{persons}_run{i}"
            cmd = [sys.executable, "-m", "cxid", "-q", "resolve",
                   *[f"--source={k}={files[k]}" for k in SOURCE_FILES], f"--out={run_out}"]
            probe = speed_probe()
            print(f"[{persons:,} persons, run {i}] (speed probe {probe:.3f} s) ...", end=" ",
                  flush=True)
            m = measured_run(cmd, out / "scale_work", f"scale_{persons}_run{i}", args.timeout)
            m["speed_probe_seconds"] = probe
            runs.append(m)
            print(f"{m['wall_seconds']:.1f} s, peak {m['peak_rss_mb']:.0f} MB", flush=True)
        manifest = json.loads((run_out / "manifest.json").read_text())
        truth = pd.read_csv(files["truth"], dtype=str, keep_default_na=False)
        identities = pd.read_parquet(run_out / "identities.parquet")
        ev = evaluate(truth, identities, linkable_only=True)
        rows.append({
            "persons": persons,
            "touchpoints": manifest["counts"]["records_in"],
            "wall_seconds_median": statistics.median(r["wall_seconds"] for r in runs),
            "wall_seconds": [r["wall_seconds"] for r in runs],
            "speed_probe_seconds": [r["speed_probe_seconds"] for r in runs],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "candidate_pairs": manifest["counts"]["candidate_pairs"],
            "customers": manifest["counts"]["customers"],
            "stage_seconds": manifest.get("stage_seconds"),
            "bcubed_f1_linkable": round(ev.bcubed_f1, 4),
            "bcubed_precision_linkable": round(ev.bcubed_precision, 4),
            "bcubed_recall_linkable": round(ev.bcubed_recall, 4),
        })
    result = {"machine": machine(), "runs": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale_local.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'touchpoints':>12} {'time s':>8} {'peak GB':>8} {'pairs':>12} {'B3 F1':>7}")
    for r in rows:
        print(f"{r['touchpoints']:>12,} {r['wall_seconds_median']:>8.1f} "
              f"{r['peak_rss_mb'] / 1024:>8.2f} {r['candidate_pairs']:>12,} "
              f"{r['bcubed_f1_linkable']:>7.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
