"""Command line: ``cxid resolve | evaluate | explain | forget | synth`` (also ``python -m cxid``).

Progress goes to stderr (``-q`` silences it); results go to stdout. Exit codes: 0 ok,
2 bad input or configuration (the message says which file, field or value).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cxid import __version__
from cxid.errors import CxidError

if TYPE_CHECKING:  # the engine module (scipy, pyarrow) loads only for commands that run
    from cxid.engine import LocalEngine


def _source_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def _conf_arg(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cxid {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    res = sub.add_parser("resolve", help="resolve sources into customer ids")
    res.add_argument("--source", action="append", type=_source_arg, default=[],
                     metavar="NAME=PATH",
                     help="a source file; NAME is its kind (web, beacon, twitter, email, "
                          "esp, crm, touchpoints) or a source named in the config")
    res.add_argument("--config", help="TOML config file")
    res.add_argument("--out", required=True, help="output folder (replaced atomically)")
    res.add_argument("--state", help="state folder: keeps customer ids stable across runs, "
                                     "reuses inputs already read and the fitted model")
    res.add_argument("--refit", action="store_true",
                     help="with --state: fit the match model again instead of reusing it")
    res.add_argument("--engine", choices=["local", "spark"], default="local",
                     help="where the heavy operations run (spark needs cxid[spark])")
    res.add_argument("--spark-conf", action="append", type=_conf_arg, default=[],
                     metavar="KEY=VALUE",
                     help="with --engine spark: a setting of the Spark session cxid starts, "
                          "e.g. spark.driver.memory=8g (repeatable)")
    res.add_argument("--workers", type=int, default=None,
                     help="processes reading large inputs and threads running independent "
                          "steps in parallel (default: one per core)")
    res.add_argument("--write-touchpoints", action="store_true",
                     help="also write the normalised touchpoints to OUT/touchpoints.parquet "
                          "(resolve them again with --source touchpoints=PATH)")

    ev = sub.add_parser("evaluate", help="accuracy of identities against truth")
    ev.add_argument("--truth", required=True, help="truth CSV/parquet: source,record_id,person_id")
    ev.add_argument("--pred", required=True,
                    help="identities parquet/CSV (source,record_id,customer_id) or an output folder")
    ev.add_argument("--linkable-only", action="store_true",
                    help="score only records the truth marks linkable")
    ev.add_argument("--json", action="store_true", help="print JSON instead of text")

    ex = sub.add_parser("explain", help="why two records are (not) one customer")
    ex.add_argument("--out", required=True, help="output folder of a resolve run")
    ex.add_argument("record_a", help="SOURCE:RECORD_ID")
    ex.add_argument("record_b", help="SOURCE:RECORD_ID")

    fg = sub.add_parser("forget", help="remove people from a state and keep them out")
    fg.add_argument("--state", required=True, help="state folder of earlier runs")
    fg.add_argument("--email", action="append", default=[], help="e-mail of a person")
    fg.add_argument("--customer-id", action="append", default=[], help="a customer id")
    fg.add_argument("--out", help="re-resolve the state's inputs into this output folder")

    sy = sub.add_parser("synth", help="generate a French omnichannel population with truth")
    sy.add_argument("--persons", type=int, required=True)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--out", required=True)
    return parser


def _cmd_resolve(args: argparse.Namespace) -> int:
    from cxid.pipeline import resolve_to
    from cxid.resolution import summary_text

    names = [name for name, _ in args.source]
    if len(set(names)) != len(names):
        raise CxidError("a source name is given twice; name each --source differently")
    if not args.source and not args.config and not args.state:
        raise CxidError("give --source NAME=PATH (or a --config with sources, or a --state)")
    engine: str | LocalEngine = args.engine
    if args.spark_conf:
        if args.engine != "spark":
            raise CxidError("--spark-conf needs --engine spark")
        from cxid.engine.spark import SparkEngine

        engine = SparkEngine(config=dict(args.spark_conf))
    try:
        manifest = resolve_to(args.out, dict(args.source) or None, args.config,
                              state=args.state, refit=args.refit, engine=engine,
                              workers=args.workers, progress=not args.quiet,
                              write_touchpoints=args.write_touchpoints)
    finally:
        if not isinstance(engine, str):
            engine.close()
    print(summary_text(manifest))
    print(f"outputs: {Path(args.out)}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cxid.evaluate import evaluate, read_labels

    pred = Path(args.pred)
    if pred.is_dir():
        pred = pred / "identities.parquet"
    result = evaluate(read_labels(args.truth), read_labels(pred),
                      linkable_only=args.linkable_only)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from cxid.resolution import Resolution

    print(Resolution.load(args.out).explain(args.record_a, args.record_b).text())
    return 0


def _cmd_forget(args: argparse.Namespace) -> int:
    from cxid.pipeline import forget, resolve

    if not args.email and not args.customer_id:
        raise CxidError("give at least one --email or --customer-id")
    counts = forget(args.state, emails=args.email, customer_ids=args.customer_id)
    print(f"forgot {counts['customers']:,} customer(s), {counts['records']:,} record(s)")
    if args.out:
        resolution = resolve(state=args.state, progress=not args.quiet)
        resolution.write(args.out)
        resolution.save_state(args.state)
        print(resolution.summary())
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from cxid.synth import generate

    paths = generate(args.persons, seed=args.seed, out_dir=Path(args.out),
                     progress=not args.quiet)
    print(f"wrote synthetic sources for {args.persons:,} persons to {args.out}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


COMMANDS = {"resolve": _cmd_resolve, "evaluate": _cmd_evaluate, "explain": _cmd_explain,
            "forget": _cmd_forget, "synth": _cmd_synth}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for a usage/config/input error)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except CxidError as exc:
        print(f"cxid {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
