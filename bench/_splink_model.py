"""The Splink side of the benchmark: one timed Splink 5 (DuckDB) run, in its own process.

Run as a script by ``bench_vs_splink.py`` (which measures the wall time and peak RSS
of this whole process)::

    python bench/_splink_model.py run --input touchpoints.parquet --out DIR [--seed 1]

``touchpoints.parquet`` holds cxid's *normalised* touchpoints (one row per record,
``unique_id``, ``source``, ``record_id`` and the ``*_norm`` columns), exported once
and untimed by the bench. Everything this script does is timed: load the parquet into
DuckDB (with two derived columns), train, predict, cluster and write
``DIR/clusters.parquet`` (unique_id, cluster_id) plus ``DIR/splink_stats.json``
(per-stage seconds, pair counts, trained parameters summary).

``python bench/_splink_model.py count --input ... --out DIR`` counts the candidate pairs
the prediction blocking rules generate (Splink's own blocking analysis); the bench
runs it separately so it is not part of the timed run.

The model is configured the way the Splink documentation recommends for a person
dedupe (see bench/README.md for why each choice was made).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.blocking_rule_creator import BlockingRuleCreator

#: Identifier columns: an exact match is strong evidence. Splink has no deterministic
#: stage, so these become comparisons (and blocking rules) like any other column.
IDENTIFIERS: tuple[str, ...] = (
    "account_norm",
    "loyalty_norm",
    "email_norm",
    "phone_norm",
    "device_norm",
    "cookie_norm",
)

#: Columns loaded from the exported parquet (everything else is left out of DuckDB).
INPUT_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "source",
    "record_id",
    *IDENTIFIERS,
    "email_local_norm",
    "handle_norm",
    "first_name_norm",
    "last_name_norm",
    "birth_date_norm",
    "street_norm",
    "postcode_norm",
    "city_norm",
)

#: Derived in DuckDB at load time (timed), as an expert would prepare the input:
#: ``full_name`` so that term frequencies apply to the whole name (Splink's advice for
#: ForenameSurnameComparison), ``alias`` = e-mail local part or Twitter handle, so an
#: e-mail record and a tweet by the same ``jdupont75`` can be blocked and compared.
DERIVED_SQL = """
    CASE WHEN first_name_norm IS NOT NULL AND last_name_norm IS NOT NULL
         THEN first_name_norm || ' ' || last_name_norm END AS full_name,
    coalesce(email_local_norm, handle_norm) AS alias
"""

#: The match probability clusters are cut at (the brief's 0.9) and the one predict keeps.
CLUSTER_THRESHOLD = 0.9
PREDICT_THRESHOLD = 0.5


def prediction_rules() -> list[BlockingRuleCreator]:
    """Blocking rules for predict: every identifier, plus name/date/place/alias rules."""
    return [
        *(block_on(col) for col in IDENTIFIERS),
        block_on("substr(first_name_norm, 1, 3)", "birth_date_norm"),
        block_on("last_name_norm", "postcode_norm"),
        block_on("last_name_norm", "substr(first_name_norm, 1, 1)", "city_norm"),
        block_on("alias"),
    ]


def identifier(col: str, fixed_u: float | None) -> cl.ComparisonCreator:
    """Exact match on an identifier column; with ``fixed_u`` its u is set, not sampled."""
    if fixed_u is None:
        return cl.ExactMatch(col)
    return cl.CustomComparison(
        output_column_name=col,
        comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col).configure(u_probability=fixed_u, fix_u_probability=True),
            cll.ElseLevel().configure(u_probability=1 - fixed_u, fix_u_probability=True),
        ],
    )


def settings(fixed_id_u: float | None = None) -> SettingsCreator:
    """Splink settings: dedupe over all sources at once (records of one person can be in
    any source, including several in the same one)."""
    comparisons = [
        identifier("account_norm", fixed_id_u),
        identifier("loyalty_norm", fixed_id_u),
        cl.EmailComparison("email_norm"),
        cl.LevenshteinAtThresholds("phone_norm", [1, 2]),
        identifier("device_norm", fixed_id_u),
        identifier("cookie_norm", fixed_id_u),
        cl.ForenameSurnameComparison(
            "first_name_norm", "last_name_norm",
            forename_surname_concat_col_name="full_name",
        ),
        cl.DateOfBirthComparison("birth_date_norm", input_is_string=True,
                                 datetime_format="%Y-%m-%d"),
        cl.JaroWinklerAtThresholds("alias", [0.94, 0.88]),
        cl.LevenshteinAtThresholds("postcode_norm", [1]).configure(
            term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("city_norm", [0.92, 0.85]).configure(
            term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("street_norm", [0.92, 0.85]),
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=prediction_rules(),
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


#: Candidate EM sessions, as tuples of blocking expressions. Each session fixes the
#: comparisons its rule uses, so the set is chosen so that every comparison is
#: estimated in at least one session: names, dates and places where records share an
#: e-mail; e-mail, phone and identifiers where they share a name and a birth date;
#: cookie/device/account where they share a phone or an account. A session whose rule
#: yields fewer than ``MIN_EM_PAIRS`` pairs on the data is skipped (Splink refuses an
#: empty one, and a handful of pairs gives no estimate worth having).
EM_RULES: tuple[tuple[str, ...], ...] = (
    ("email_norm",),
    ("first_name_norm", "last_name_norm", "birth_date_norm"),
    ("phone_norm",),
    ("account_norm",),
)
MIN_EM_PAIRS = 1_000


def blocked_pairs(con: duckdb.DuckDBPyConnection, expressions: tuple[str, ...]) -> int:
    """Pairs an equi-join blocking rule on ``expressions`` generates (dedupe)."""
    keys = ", ".join(expressions)
    not_null = " AND ".join(f"({e}) IS NOT NULL" for e in expressions)
    return scalar(con, f"SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) AS n "
                       f"FROM touchpoints WHERE {not_null} GROUP BY {keys})")


def load(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Load the exported touchpoints into DuckDB table ``touchpoints``; returns rows."""
    available = set(duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{path}')")
                    .df()["column_name"])
    missing = [c for c in INPUT_COLUMNS if c not in available]
    if missing:
        raise SystemExit(f"{path} lacks column(s) {', '.join(missing)}")
    cols = ", ".join(INPUT_COLUMNS)
    con.execute(
        f"CREATE TABLE touchpoints AS SELECT {cols}, {DERIVED_SQL} "
        f"FROM read_parquet('{path}')"
    ).fetchall()
    return scalar(con, "SELECT count(*) FROM touchpoints")


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """First value of a one-row query (0 when null), fetched completely: DuckDB 2
    refuses new work on a connection with an unfinished result."""
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def run(input_path: Path, out: Path, *, seed: int, recall: float, u_pairs: float,
        em_max_pairs: float | None, fixed_id_u: float | None) -> dict[str, Any]:
    """Train, predict, cluster and write; returns the stats written to splink_stats.json."""
    stage: dict[str, float] = {}
    t0 = time.perf_counter()
    con = duckdb.connect()
    n_records = load(con, input_path)
    db_api = DuckDBAPI(connection=con)
    table = db_api.register("touchpoints", table_name="touchpoints_input")
    linker = Linker(table, settings(fixed_id_u), log_level=logging.ERROR)
    stage["load"] = time.perf_counter() - t0

    t = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        [block_on("account_norm"), block_on("email_norm")], recall=recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    sessions = []
    for expressions in EM_RULES:
        n_pairs = blocked_pairs(con, expressions)
        sessions.append({"rule": list(expressions), "pairs": n_pairs})
        if n_pairs < MIN_EM_PAIRS:
            continue
        cap = em_max_pairs if em_max_pairs and n_pairs > em_max_pairs else None
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*expressions), estimate_without_term_frequencies=True, max_pairs=cap
            )
        except ValueError as exc:
            # what a user would do: keep the other sessions' estimates and go on (Splink
            # 5 refuses an m that underflows to 0 for a level unseen in the session)
            sessions[-1]["failed"] = str(exc)[:200]
    stage["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=PREDICT_THRESHOLD)
    stage["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=CLUSTER_THRESHOLD
    )
    stage["cluster"] = time.perf_counter() - t

    t = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    target = out / "clusters.parquet"
    con.execute(
        f"COPY (SELECT unique_id, cluster_id FROM {clusters.physical_name}) "
        f"TO '{target}' (FORMAT parquet)"
    ).fetchall()
    stage["write"] = time.perf_counter() - t

    pred = predictions.physical_name
    stats: dict[str, Any] = {
        "records": n_records,
        "scored_pairs_at_or_above_predict_threshold": scalar(con, f"SELECT count(*) FROM {pred}"),
        "predict_threshold": PREDICT_THRESHOLD,
        "edges_at_or_above_cluster_threshold": scalar(
            con, f"SELECT count(*) FROM {pred} WHERE match_probability >= {CLUSTER_THRESHOLD}"),
        "cluster_threshold": CLUSTER_THRESHOLD,
        "clusters": scalar(con, f"SELECT count(DISTINCT cluster_id) FROM {clusters.physical_name}"),
        "probability_two_random_records_match":
            linker._settings_obj._probability_two_random_records_match,
        "stage_seconds": {k: round(v, 3) for k, v in stage.items()},
        "seconds": round(time.perf_counter() - t0, 3),
        "em_sessions": sessions,
        "untrained": untrained_levels(linker),
    }
    (out / "splink_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    (out / "splink_model.json").write_text(
        json.dumps(linker.misc.save_model_to_json(), indent=2) + "\n")
    return stats


def untrained_levels(linker: Linker) -> list[str]:
    """Comparison levels whose m or u probability was never estimated (defaults used)."""
    missing = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            if level._m_is_trained is False or level._u_is_trained is False:
                missing.append(f"{comparison.output_column_name}: {level.label_for_charts}")
    return missing


def count_pairs(input_path: Path) -> dict[str, Any]:
    """Candidate pairs the predict blocking rules generate (per rule, after OR-dedup)."""
    con = duckdb.connect()
    load(con, input_path)
    db_api = DuckDBAPI(connection=con)
    table = db_api.register("touchpoints", table_name="touchpoints_input")
    records = count_comparisons_from_blocking_rules(
        table,
        blocking_rules=prediction_rules(),
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        record_sample_proportion=1.0,
    )
    return {
        "candidate_pairs": int(records[-1]["cumulative_comparison_count"]) if records else 0,
        "marginal_pairs_by_rule": {
            r["blocking_rule"]: int(r["marginal_comparison_count"]) for r in records
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "count"])
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--recall", type=float, default=0.6,
                        help="assumed recall of the account/e-mail rules (prior estimate)")
    parser.add_argument("--u-pairs", type=float, default=1e7,
                        help="max_pairs for estimate_u_using_random_sampling")
    parser.add_argument("--em-max-pairs", type=float, default=5e6,
                        help="cap on pairs per EM session (0 = all blocked pairs)")
    parser.add_argument("--fixed-id-u", type=float, default=None,
                        help="fix the u probability of identifier exact matches (account, "
                             "loyalty, device, cookie) instead of sampling it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Splink warns once per untrained level and EM session; the untrained levels are
    # listed in splink_stats.json instead.
    logging.getLogger("splink").setLevel(logging.ERROR)
    if args.command == "count":
        args.out.mkdir(parents=True, exist_ok=True)
        result = count_pairs(args.input)
        (args.out / "splink_pairs.json").write_text(json.dumps(result, indent=2) + "\n")
    else:
        result = run(args.input, args.out, seed=args.seed, recall=args.recall,
                     u_pairs=args.u_pairs, em_max_pairs=args.em_max_pairs,
                     fixed_id_u=args.fixed_id_u)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
