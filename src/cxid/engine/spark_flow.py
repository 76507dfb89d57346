"""The Spark frame flow: a run whose per-record tables never come to the driver.

The touchpoints stay a Spark DataFrame from reading to writing; each per-record
stage runs on the executors over the same pure functions the local engine calls:

======================  ==========================================================
stage                   where it runs
======================  ==========================================================
read and normalise      Spark tasks (:mod:`cxid.engine.spark_read`)
deterministic links     identifier rows, per-value guards and connected components
                        on DataFrames (:mod:`cxid.engine.spark_links`)
fragments               the local code per hash bucket of fragments
                        (``applyInPandas``), collected (:mod:`cxid.engine.spark_outputs`)
matching, clustering    the driver, as locally (:func:`cxid.pipeline.match_and_cluster`):
                        its input and output are per fragment (blocking joins,
                        comparisons and conflicting components still go to Spark)
customer ids            hashes on the executors, one anchor per cluster on the driver,
                        the per-fragment ids broadcast back to the records
profiles, links         the local code per hash bucket of customers, and per batch
write                   ``DataFrame.write.parquet``
======================  ==========================================================

So the driver holds per-fragment and per-customer data (the fragment profiles, the
scored pairs, one id per cluster), never a per-record frame, and gives the same
outputs as the local engine. Runs with a state folder (carried ids, cached inputs)
still go through :func:`cxid.resolve` on this engine.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cxid.config import Config, SourceConfig
from cxid.engine.spark import SparkEngine, _collect_arrow
from cxid.engine.spark_links import link_identifiers_frame
from cxid.engine.spark_outputs import (
    cluster_customer_ids,
    fragments_frame,
    linked_record_pairs_frame,
    links_frame,
    profiles_frame,
)
from cxid.engine.spark_read import REJECTED_ORDER, read_touchpoints_frame
from cxid.link.match import DEFAULT_COMPARISONS, METHOD_LEVELS
from cxid.progress import Progress, as_progress
from cxid.resolution import TOUCHPOINTS_FILE, guard_table
from cxid.resolver.state import empty_history, swap_in
from cxid.schema import ARROW_STRING, REJECTED_COLUMNS

log = logging.getLogger(__name__)


def _reasons(rejected: DataFrame) -> dict[str, int]:
    """Rejection counts by reason family, as :func:`cxid.pipeline._reasons` (text
    before the first quote, colon or parenthesis), counted on the executors."""
    family = F.trim(F.split(F.col("reason"), r"[:'(]", 2).getItem(0))
    counts = _collect_arrow(rejected.groupBy(family.alias("family")).count()).to_pandas()
    counts = counts.sort_values(["count", "family"], ascending=[False, True])
    return {str(k): int(v) for k, v in zip(counts["family"], counts["count"], strict=True)}


def _normalization(touchpoints: DataFrame, columns: Sequence[str]) -> dict[str, int]:
    """Non-null count per normalised column, one aggregation on the executors."""
    norm = [c for c in columns if c.endswith("_norm")]
    if not norm:
        return {}
    row = touchpoints.agg(*[F.count(c).alias(c) for c in norm]).collect()[0]
    return {c: int(row[c]) for c in norm}


def resolve_frames(sources: Sequence[SourceConfig], cfg: Config, engine: SparkEngine,
                   out: str | Path, *, progress: Progress | bool | None = None,
                   write_touchpoints: bool = False) -> dict[str, Any]:
    """Resolve ``sources`` with ``cfg`` on Spark and write the outputs to folder ``out``
    (atomically, as :meth:`cxid.Resolution.write` does) without bringing a per-record
    frame to the driver; returns the run manifest. With ``write_touchpoints`` the normalised
    touchpoints are written too (``touchpoints.parquet``, a folder of parts in row
    order)."""
    from cxid.pipeline import (
        _StageClock,
        check_sources,
        file_sha256,
        input_cache_key,
        input_entry,
        match_and_cluster,
        run_manifest,
    )

    started = time.perf_counter()
    clock = _StageClock()
    bar = as_progress(progress)
    check_sources(sources)
    region = cfg.default_region
    read = read_touchpoints_frame(engine, sources, region=region, progress=bar)
    inputs = []
    for s, got in zip(sources, read.inputs, strict=True):
        sha = file_sha256(s.path)
        inputs.append(input_entry(s, sha, input_cache_key(s, sha, region),
                                  got["records_accepted"], got["records_rejected"],
                                  got["seconds"], got["normalization"]))
    bar.message(f"read {read.n_touchpoints:,} touchpoints, rejected {read.n_rejected:,}")
    clock.lap("read_and_normalise")

    det = link_identifiers_frame(engine, read.touchpoints, cfg.identifiers)
    touchpoints = read.touchpoints.join(det.fragment, "row").localCheckpoint()
    bar.message(f"deterministic linking: {det.n_fragments:,} fragments, "
                f"{len(det.suppressed):,} identifier values suppressed, "
                f"{len(det.refused):,} refused")
    clock.lap("deterministic_links")
    fragments = fragments_frame(engine, touchpoints)
    first_row = fragments.summary["first_row"].to_numpy(np.int64)
    clock.lap("fragments")

    m = cfg.matching
    matched = match_and_cluster(
        fragments, lambda: linked_record_pairs_frame(engine, touchpoints, seed=m.seed), cfg,
        model_json=None, engine=engine, progress=bar)
    del fragments
    clock.lap("matching_and_clustering")

    # fragment -> cluster -> customer id are per-fragment tables: broadcast to the
    # records, so the wide touchpoints are never shuffled for them
    n_fragments = len(matched.fragment_cluster)
    clusters = engine._to_spark(pd.DataFrame({
        "fragment": np.arange(n_fragments, dtype=np.int64),
        "cluster": matched.fragment_cluster.astype(np.int64)}))
    ids = cluster_customer_ids(touchpoints.select("row", "source", "record_id", "fragment")
                               .join(F.broadcast(clusters), "fragment"))
    at = ids.index.get_indexer(matched.fragment_cluster)
    customer = engine._to_spark(pd.DataFrame({
        "fragment": np.arange(n_fragments, dtype=np.int64),
        "customer_id": pd.array(ids.astype(ARROW_STRING).to_numpy()[at], dtype=ARROW_STRING)}))
    touchpoints = touchpoints.join(F.broadcast(customer), "fragment").localCheckpoint()
    clock.lap("customer_ids")
    customers = profiles_frame(engine, touchpoints, rules=cfg.survivorship.rules,
                               source_priority=cfg.survivorship.source_priority)
    comparisons = m.comparisons or DEFAULT_COMPARISONS
    links = links_frame(engine, touchpoints, det.edges, first_row, matched.accepted,
                        matched.refused, [(s.name, METHOD_LEVELS[s.method])
                                          for s in comparisons])
    identities = touchpoints.orderBy("row").select("source", "record_id", "customer_id")
    rejected = read.rejected.orderBy(*REJECTED_ORDER).select(*REJECTED_COLUMNS)

    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        customers = customers.localCheckpoint()
        sizes = _collect_arrow(customers.select("records"))["records"].to_numpy()
        engine.write_frame(identities, tmp / "identities.parquet")
        engine.write_frame(customers, tmp / "customers.parquet")
        engine.write_frame(links, tmp / "links.parquet")
        engine.write_frame(rejected, tmp / "rejected.parquet")
        if write_touchpoints:
            engine.write_frame(read.touchpoints.orderBy("row").select(*read.columns),
                               tmp / TOUCHPOINTS_FILE)
        clock.lap("profiles_links_and_write")
        engine.write_table(empty_history(), tmp / "id_history.parquet")
        engine.write_table(guard_table(det.suppressed, det.refused),
                           tmp / "identifier_guards.parquet")
        if matched.match is not None:
            matched.match.model.save(tmp / "model.json")
        manifest = run_manifest(
            run=1, started=started, clock=clock, inputs=inputs,
            n_identities=read.n_touchpoints, n_rejected=read.n_rejected, sizes=sizes,
            det_stats=det.stats, n_suppressed=len(det.suppressed),
            n_refused=len(det.refused), matched=matched,
            rejected_by_reason=_reasons(read.rejected),
            normalization=_normalization(read.touchpoints, read.columns),
            id_changes={"merge": 0, "split": 0},
            config=cfg.with_sources(tuple(sources)).to_dict())
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str, ensure_ascii=False) + "\n",
            encoding="utf-8")
        swap_in(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = manifest["counts"]
    bar.message(f"{counts['records_in']:,} records in -> {counts['identities']:,} identities "
                f"({counts['customers']:,} customers) + {counts['rejected']:,} rejected")
    log.info("wrote outputs to %s", target)
    return manifest
