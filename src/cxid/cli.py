"""Command line: ``cxid resolve | evaluate | synth`` (also ``python -m cxid``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from cxid import __version__
from cxid.errors import CxidError


def _source_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxid", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cxid {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    res = sub.add_parser("resolve", help="resolve sources into customer ids")
    res.add_argument("--source", action="append", type=_source_arg, default=[],
                     metavar="NAME=PATH",
                     help="a source file; NAME is its kind (web, beacon, twitter, email, "
                          "esp, crm) or a source named in the config")
    res.add_argument("--config", help="TOML config file")
    res.add_argument("--out", required=True, help="output folder (replaced atomically)")

    ev = sub.add_parser("evaluate", help="accuracy of identities against truth")
    ev.add_argument("--truth", required=True, help="truth CSV/parquet: source,record_id,person_id")
    ev.add_argument("--pred", required=True, help="identities parquet/CSV: source,record_id,customer_id")
    ev.add_argument("--linkable-only", action="store_true",
                    help="score only records the truth marks linkable")
    ev.add_argument("--json", action="store_true", help="print JSON instead of text")

    sy = sub.add_parser("synth", help="generate a French omnichannel population with truth")
    sy.add_argument("--persons", type=int, required=True)
    sy.add_argument("--seed", type=int, default=0)
    sy.add_argument("--out", required=True)
    return parser


def _cmd_resolve(args: argparse.Namespace) -> int:
    from cxid.pipeline import resolve

    sources = dict(args.source) if args.source else None
    if args.source and len(dict(args.source)) != len(args.source):
        raise CxidError("a source name is given twice; name each --source differently")
    resolution = resolve(sources, args.config, progress=not args.quiet)
    out = resolution.write(args.out)
    print(resolution.summary())
    print(f"outputs: {out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cxid.evaluate import evaluate, read_labels

    result = evaluate(read_labels(args.truth), read_labels(args.pred),
                      linkable_only=args.linkable_only)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.summary())
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from cxid.synth import generate

    paths = generate(args.persons, seed=args.seed, out_dir=Path(args.out),
                     progress=not args.quiet)
    print(f"wrote synthetic sources for {args.persons:,} persons to {args.out}")
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for a usage/config/input error)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    commands = {"resolve": _cmd_resolve, "evaluate": _cmd_evaluate, "synth": _cmd_synth}
    try:
        return commands[args.command](args)
    except CxidError as exc:
        print(f"cxid {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
