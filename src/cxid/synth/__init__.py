"""Synthetic French omnichannel customers with ground truth.

:func:`generate` draws a population (households, names, e-mails, phones, addresses,
accounts, loyalty cards, browsers, phones and family tablets) and writes what six
systems would have recorded about it, in their native formats:

==========  ====================  ==============================================
key         file                  record id (``truth.csv``)
==========  ====================  ==============================================
web         ``web.jsonl``         Segment ``messageId``
beacon      ``beacon.csv``        ``sighting_id``
twitter     ``twitter.jsonl``     user ``id``
email       ``support.mbox``      ``Message-ID`` without ``<>``
esp         ``esp_audience.csv``  1-based data-row number
crm         ``crm.csv``           ``customer_id``
==========  ====================  ==============================================

``truth.csv`` has columns ``source,record_id,person_id,linkable`` with one row per
record. ``linkable`` is False for records no method could attach to the rest of
their person (see :mod:`cxid.synth._truth`) and for bad records a reader must reject.
Malformed JSON lines have no record id and no truth row; they are counted in
``stats.json``.

The data is full of traps on purpose: typos, dropped or mangled accents, nicknames,
swapped names, e-mail and phone variants, wrong birth dates, households sharing an
address, an IP, a tablet and sometimes an e-mail, the all-zeros advertising id, junk
form values, namesakes, anonymous cookies and cookie churn. Rates are in
:class:`SynthOptions`. Output is deterministic: the same ``persons``, ``seed`` and
options give byte-identical files.
"""

from __future__ import annotations

import csv
import json
import logging
import mailbox
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxid.progress import Progress, as_progress
from cxid.synth._options import SynthOptions
from cxid.synth._population import build_population
from cxid.synth._profiles import (
    CRM_COLUMNS,
    ESP_COLUMNS,
    build_crm,
    build_esp,
    build_support,
    build_twitter,
)
from cxid.synth._records import Records
from cxid.synth._truth import linkable
from cxid.synth._web import BEACON_COLUMNS, build_beacon, build_web

log = logging.getLogger(__name__)

#: Persons generated per chunk (whole households). Part of the output definition:
#: changing it changes the files for a given seed.
CHUNK_PERSONS = 20_000

SOURCES = ("web", "beacon", "twitter", "email", "esp", "crm")
FILE_NAMES = {
    "web": "web.jsonl", "beacon": "beacon.csv", "twitter": "twitter.jsonl",
    "email": "support.mbox", "esp": "esp_audience.csv", "crm": "crm.csv", "truth": "truth.csv",
}
TRUTH_COLUMNS = ["source", "record_id", "person_id", "linkable"]


@dataclass(frozen=True)
class SynthPaths:
    """Where :func:`generate` wrote each file; ``stats_path`` holds the counts."""

    web: Path
    beacon: Path
    twitter: Path
    email: Path
    esp: Path
    crm: Path
    truth: Path
    stats_path: Path

    def items(self) -> Iterator[tuple[str, Path]]:
        """``(key, path)`` of the six sources and the truth, like a dict."""
        for key in (*SOURCES, "truth"):
            yield key, getattr(self, key)

    def __getitem__(self, key: str) -> Path:
        if key not in FILE_NAMES:
            raise KeyError(key)
        return getattr(self, key)

    @property
    def sources(self) -> dict[str, Path]:
        """Source name -> path, ready for ``cxid.resolve``."""
        return {key: getattr(self, key) for key in SOURCES}

    @property
    def stats(self) -> dict[str, Any]:
        """Record counts and trap counts of the generated data (from ``stats.json``)."""
        return json.loads(self.stats_path.read_text(encoding="utf-8"))


def _rng(seed: int, *path: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *path]))


def _write_csv(frame: pd.DataFrame, handle: Any, sep: str = ",", eol: str = "\n") -> None:
    if len(frame):
        frame.to_csv(handle, index=False, header=False, sep=sep, lineterminator=eol)


def generate(
    persons: int,
    *,
    seed: int = 0,
    out_dir: str | Path,
    progress: Progress | bool | None = None,
    crm_french_excel: bool = False,
    options: SynthOptions | None = None,
) -> SynthPaths:
    """Write the six source files, ``truth.csv`` and ``stats.json`` for ``persons``
    synthetic persons into ``out_dir`` (created if needed, files replaced).

    ``crm_french_excel`` writes the CRM like a French Excel export: ``;``-separated,
    Windows-1252, CRLF, dates ``dd/mm/yyyy``. Work is done in chunks of whole
    households, so memory stays flat whatever ``persons`` is.
    """
    if not isinstance(persons, (int, np.integer)) or persons < 1:
        raise ValueError(f"persons must be a positive integer, got {persons!r}")
    opts = options if options is not None else SynthOptions()
    report = as_progress(progress)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = SynthPaths(**{k: out / v for k, v in FILE_NAMES.items()}, stats_path=out / "stats.json")

    pop = build_population(int(persons), _rng(seed, 0), opts)
    bounds = pop.household_bounds(CHUNK_PERSONS)
    log.info("synth: %d persons in %d households, %d chunks", pop.n,
             int(pop.household[-1]) + 1, len(bounds))

    counts = dict.fromkeys(SOURCES, 0)
    linkable_counts = dict.fromkeys(SOURCES, 0)
    malformed_web = bad_beacon = 0
    used_handles: set[str] = set()
    used_ids: set[str] = set()
    if paths.email.exists():
        paths.email.unlink()
    crm_sep, crm_eol, crm_enc = (";", "\r\n", "cp1252") if crm_french_excel else (",", "\n", "utf-8")
    with open(paths.web, "w", encoding="utf-8", newline="") as web_f, \
            open(paths.beacon, "w", encoding="utf-8", newline="") as beacon_f, \
            open(paths.twitter, "w", encoding="utf-8", newline="") as twitter_f, \
            open(paths.esp, "w", encoding="utf-8", newline="") as esp_f, \
            open(paths.crm, "w", encoding=crm_enc, errors="replace", newline="") as crm_f, \
            open(paths.truth, "w", encoding="utf-8", newline="") as truth_f:
        box = mailbox.mbox(paths.email, create=True)
        csv.writer(beacon_f, lineterminator="\n").writerow(BEACON_COLUMNS)
        csv.writer(esp_f, lineterminator="\n").writerow(ESP_COLUMNS)
        csv.writer(crm_f, delimiter=crm_sep, lineterminator=crm_eol).writerow(CRM_COLUMNS)
        csv.writer(truth_f, lineterminator="\n").writerow(TRUTH_COLUMNS)
        try:
            for ci, (lo, hi) in enumerate(bounds):
                first = ci == 0
                web_rec, web_lines, n_mal = build_web(pop, lo, hi, _rng(seed, 1, ci, 0), opts,
                                                      min_malformed=3 if first else 0)
                beacon_rec, beacon_frame, n_bad = build_beacon(
                    pop, lo, hi, _rng(seed, 1, ci, 1), opts, first_id=counts["beacon"] + 1,
                    min_bad=1 if first else 0)
                tw_rec, tw_lines = build_twitter(pop, lo, hi, _rng(seed, 1, ci, 2), opts,
                                                 used_handles, used_ids)
                mail_rec, messages = build_support(pop, lo, hi, _rng(seed, 1, ci, 3), opts)
                esp_rec, esp_frame = build_esp(pop, lo, hi, _rng(seed, 1, ci, 4), opts,
                                               first_row=counts["esp"] + 1, min_junk=1 if first else 0)
                crm_rec, crm_frame = build_crm(pop, lo, hi, _rng(seed, 1, ci, 5), opts,
                                               crm_french_excel)
                recs: list[Records] = [web_rec, beacon_rec, tw_rec, mail_rec, esp_rec, crm_rec]
                flags = linkable(recs)

                if len(web_lines):
                    web_f.write("\n".join(web_lines.tolist()) + "\n")
                _write_csv(beacon_frame, beacon_f)
                if tw_lines:
                    twitter_f.write("\n".join(tw_lines) + "\n")
                for message in messages:
                    box.add(message)
                _write_csv(esp_frame, esp_f)
                _write_csv(crm_frame, crm_f, crm_sep, crm_eol)
                for rec, flag in zip(recs, flags, strict=True):
                    truth = pd.DataFrame({
                        "source": rec.source, "record_id": rec.record_id,
                        "person_id": pop.person_id[rec.person],
                        "linkable": np.where(flag, "True", "False"),
                    }, columns=TRUTH_COLUMNS)
                    _write_csv(truth, truth_f)
                    counts[rec.source] += len(rec)
                    linkable_counts[rec.source] += int(flag.sum())
                malformed_web += n_mal
                bad_beacon += n_bad
                report.update("synth", hi, pop.n, "persons")
            box.flush()
        finally:
            box.close()

    stats = {
        "persons": pop.n,
        "seed": int(seed),
        "households": int(pop.household[-1]) + 1,
        "records": counts,
        "records_total": sum(counts.values()),
        "linkable": linkable_counts,
        "malformed_web_lines": malformed_web,
        "bad_beacon_rows": bad_beacon,
        "namesake_persons": int((pop.namesake_of >= 0).sum()),
        "shared_tablets_two_accounts": pop.shared_tablets_two_accounts,
        "crm_french_excel": bool(crm_french_excel),
        "options": asdict(opts),
    }
    paths.stats_path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    report.message(f"synth: {stats['records_total']:,} records for {pop.n:,} persons")
    log.info("synth: wrote %d records (%s)", stats["records_total"], counts)
    return paths


__all__ = ["CHUNK_PERSONS", "FILE_NAMES", "SOURCES", "SynthOptions", "SynthPaths", "generate"]
