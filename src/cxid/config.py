"""Configuration: frozen dataclasses with safe defaults, loaded from TOML or a dict.

``load_config`` validates everything at once and raises one :class:`ConfigError`
listing every problem, before any work starts. Unknown keys are errors.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxid.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SOURCE_KINDS = ("web", "beacon", "twitter", "email", "esp", "crm", "tabular", "touchpoints")
IDENTIFIER_KINDS = ("account", "loyalty", "email", "phone", "device", "cookie", "twitter")


@dataclass(frozen=True, kw_only=True)
class IdentifierRule:
    """How one identifier kind is used as deterministic evidence.

    ``max_accounts``/``max_people``: a value seen with more distinct account ids or
    more distinct people (name keys) than this is not evidence (None = no limit).
    ``priority``: lower is stronger; when two accounts collide, stronger kinds are
    linked first and the weaker value that would join them is refused.
    """

    kind: str
    deterministic: bool = True
    max_accounts: int | None = 1
    max_people: int | None = 1
    priority: int = 50


def default_identifier_rules() -> tuple[IdentifierRule, ...]:
    """Defaults modelled on CDP identity rules: an account is one person, an e-mail or
    a mobile belongs to one person, a device or a cookie may be shared by a family and
    then stops being evidence."""
    return (
        IdentifierRule(kind="account", max_accounts=None, max_people=None, priority=0),
        IdentifierRule(kind="loyalty", max_accounts=1, max_people=None, priority=1),
        IdentifierRule(kind="twitter", max_accounts=1, max_people=None, priority=2),
        IdentifierRule(kind="email", max_accounts=1, max_people=1, priority=3),
        IdentifierRule(kind="phone", max_accounts=1, max_people=1, priority=4),
        IdentifierRule(kind="device", max_accounts=1, max_people=1, priority=5),
        IdentifierRule(kind="cookie", max_accounts=1, max_people=1, priority=6),
    )


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """One input: a named source of a given kind read from ``path``."""

    name: str
    kind: str
    path: str
    mapping: Mapping[str, str | list[str]] = field(default_factory=dict)
    id_column: str | None = None


@dataclass(frozen=True, kw_only=True)
class MatchingConfig:
    """Probabilistic matching of fragments (see :mod:`cxid.link.match`).

    ``blocking``: rules, each a list of key parts (``last_name:skeleton``); None = the
    defaults. ``comparisons``: None = the defaults, else a list of tables with name,
    method, attribute, tf, thresholds. ``threshold``: minimum match probability for an
    edge. ``model``: path of a saved model JSON to use instead of fitting by EM.
    ``link_only``: never pair two fragments that both come from one single source.
    ``learn_m_from_links``: learn m of people-level comparisons from record pairs that
    deterministic linking joined (known matches) instead of from EM alone.
    """

    enabled: bool = True
    threshold: float = 0.9
    blocking: tuple[tuple[str, ...], ...] | None = None
    comparisons: tuple[Any, ...] | None = None
    max_block_size: int = 200
    max_pairs: int = 200_000_000
    u_sample: int = 300_000
    link_only: bool = False
    learn_m_from_links: bool = True
    model: str | None = None
    seed: int = 0


@dataclass(frozen=True, kw_only=True)
class SurvivorshipConfig:
    """How the customers table picks each field (see :mod:`cxid.resolver.profile`):
    ``rules`` maps a field to most_trusted / most_recent / most_frequent;
    ``source_priority`` lists source names from most to least trusted."""

    rules: Mapping[str, str] = field(default_factory=dict)
    source_priority: tuple[str, ...] = ("crm", "esp", "email", "web", "twitter", "beacon")


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything a run needs; every field has a safe default."""

    sources: tuple[SourceConfig, ...] = ()
    default_region: str = "FR"
    identifiers: tuple[IdentifierRule, ...] = field(default_factory=default_identifier_rules)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    survivorship: SurvivorshipConfig = field(default_factory=SurvivorshipConfig)

    def rule(self, kind: str) -> IdentifierRule:
        return next(r for r in self.identifiers if r.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form, for the run manifest."""
        return dataclasses.asdict(self)

    def with_sources(self, sources: tuple[SourceConfig, ...]) -> Config:
        return dataclasses.replace(self, sources=sources)


_TOP_KEYS = {"sources", "default_region", "identifiers", "matching", "survivorship"}
_MATCHING_KEYS = {f.name for f in dataclasses.fields(MatchingConfig)}
_SPEC_KEYS = {"name", "method", "attribute", "tf", "thresholds"}
_SOURCE_KEYS = {"kind", "path", "mapping", "id_column"}
_RULE_KEYS = {"deterministic", "max_accounts", "max_people", "priority"}


def _check_limit(value: Any, where: str, problems: list[str]) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        problems.append(f"{where}: expected a whole number >= 1 or nothing, got {value!r}")


def _parse_sources(raw: Any, problems: list[str]) -> tuple[SourceConfig, ...]:
    if not isinstance(raw, Mapping):
        problems.append("sources: expected a table of named sources ([sources.NAME])")
        return ()
    out = []
    for name, spec in raw.items():
        where = f"sources.{name}"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: expected a table with kind and path")
            continue
        unknown = set(spec) - _SOURCE_KEYS
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        kind = spec.get("kind", name)
        if kind not in SOURCE_KINDS:
            problems.append(f"{where}.kind: {kind!r} is not one of {', '.join(SOURCE_KINDS)}")
        path = spec.get("path")
        if not isinstance(path, str) or not path:
            problems.append(f"{where}.path: expected a file path")
            path = ""
        mapping = spec.get("mapping", {})
        if not isinstance(mapping, Mapping) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            for v in mapping.values()
        ):
            problems.append(f"{where}.mapping: expected column = \"name\" or [\"a\", \"b\"]")
            mapping = {}
        id_column = spec.get("id_column")
        if id_column is not None and not isinstance(id_column, str):
            problems.append(f"{where}.id_column: expected a column name")
            id_column = None
        out.append(SourceConfig(name=str(name), kind=str(kind), path=path,
                                mapping=dict(mapping), id_column=id_column))
    return tuple(out)


def _parse_rules(raw: Any, problems: list[str]) -> tuple[IdentifierRule, ...]:
    defaults = {r.kind: r for r in default_identifier_rules()}
    if not isinstance(raw, Mapping):
        problems.append("identifiers: expected a table per kind ([identifiers.email])")
        return tuple(defaults.values())
    for kind, spec in raw.items():
        where = f"identifiers.{kind}"
        if kind not in IDENTIFIER_KINDS:
            problems.append(f"{where}: unknown identifier kind (known: {', '.join(IDENTIFIER_KINDS)})")
            continue
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: expected a table")
            continue
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("max_accounts", "max_people"):
            if key in spec:
                _check_limit(spec[key], f"{where}.{key}", problems)
        if "deterministic" in spec and not isinstance(spec["deterministic"], bool):
            problems.append(f"{where}.deterministic: expected true or false")
        if "priority" in spec and not isinstance(spec["priority"], int):
            problems.append(f"{where}.priority: expected a whole number")
        known = {k: v for k, v in spec.items() if k in _RULE_KEYS}
        defaults[kind] = dataclasses.replace(defaults[kind], **known)
    return tuple(defaults.values())


def _parse_matching(raw: Any, problems: list[str]) -> MatchingConfig:
    from cxid.link.blocking import validate_rules
    from cxid.link.match import ComparisonSpec, validate_comparisons

    if not isinstance(raw, Mapping):
        problems.append("matching: expected a table")
        return MatchingConfig()
    unknown = set(raw) - _MATCHING_KEYS
    if unknown:
        problems.append(f"matching: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in ("enabled", "link_only", "learn_m_from_links"):
        if key in raw:
            if isinstance(raw[key], bool):
                values[key] = raw[key]
            else:
                problems.append(f"matching.{key}: expected true or false")
    if "threshold" in raw:
        t = raw["threshold"]
        if isinstance(t, int | float) and not isinstance(t, bool) and 0.0 < t < 1.0:
            values["threshold"] = float(t)
        else:
            problems.append(f"matching.threshold: expected a probability in (0, 1), got {t!r}")
    for key in ("max_block_size", "max_pairs", "u_sample", "seed"):
        if key in raw:
            v = raw[key]
            if isinstance(v, int) and not isinstance(v, bool) and v >= (0 if key == "seed" else 2):
                values[key] = v
            else:
                problems.append(f"matching.{key}: expected a whole number, got {v!r}")
    if "model" in raw:
        if isinstance(raw["model"], str) and raw["model"]:
            values["model"] = raw["model"]
        else:
            problems.append("matching.model: expected the path of a model JSON file")
    if "blocking" in raw:
        rules = raw["blocking"]
        if isinstance(rules, list) and all(
            isinstance(r, list) and all(isinstance(p, str) for p in r) for r in rules
        ):
            values["blocking"] = tuple(tuple(r) for r in rules)
            problems.extend(f"matching.{p}" for p in validate_rules(values["blocking"]))
        else:
            problems.append('matching.blocking: expected a list of rules like '
                            '[["last_name:skeleton", "first_name:initial"], ["email"]]')
    if "comparisons" in raw:
        specs = []
        items = raw["comparisons"]
        if not isinstance(items, list):
            problems.append("matching.comparisons: expected a list of tables")
            items = []
        for i, item in enumerate(items):
            where = f"matching.comparisons[{i}]"
            if not isinstance(item, Mapping) or "name" not in item or "method" not in item:
                problems.append(f"{where}: expected a table with at least name and method")
                continue
            bad = set(item) - _SPEC_KEYS
            if bad:
                problems.append(f"{where}: unknown key(s) {', '.join(sorted(bad))}")
                continue
            spec = dict(item)
            if "thresholds" in spec:
                spec["thresholds"] = tuple(spec["thresholds"])
            specs.append(ComparisonSpec(**spec))
        problems.extend(f"matching.{p}" for p in validate_comparisons(specs))
        values["comparisons"] = tuple(specs)
    return MatchingConfig(**values)


def config_from_dict(data: Mapping[str, Any]) -> Config:
    """Rebuild a :class:`Config` from :meth:`Config.to_dict` output (e.g. a manifest)."""
    raw: dict[str, Any] = {
        "default_region": data.get("default_region", "FR"),
        "sources": {s["name"]: {k: v for k, v in s.items() if k != "name" and v is not None}
                    for s in data.get("sources", [])},
        "identifiers": {r["kind"]: {k: v for k, v in r.items() if k != "kind"}
                        for r in data.get("identifiers", [])},
    }
    matching = {k: v for k, v in dict(data.get("matching", {})).items() if v is not None}
    if "blocking" in matching:
        matching["blocking"] = [list(r) for r in matching["blocking"]]
    if "comparisons" in matching:
        matching["comparisons"] = [dict(c) for c in matching["comparisons"]]
    raw["matching"] = matching
    surv = data.get("survivorship")
    if surv:
        raw["survivorship"] = {"rules": dict(surv.get("rules", {})),
                               "source_priority": list(surv.get("source_priority", []))}
    return load_config(raw)


def _parse_survivorship(raw: Any, problems: list[str]) -> SurvivorshipConfig:
    from cxid.resolver.profile import PROFILE_FIELDS, RULES

    if not isinstance(raw, Mapping):
        problems.append("survivorship: expected a table")
        return SurvivorshipConfig()
    unknown = set(raw) - {"rules", "source_priority"}
    if unknown:
        problems.append(f"survivorship: unknown key(s) {', '.join(sorted(unknown))}")
    rules = raw.get("rules", {})
    if not isinstance(rules, Mapping):
        problems.append("survivorship.rules: expected field = \"rule\"")
        rules = {}
    for name, rule in rules.items():
        if name not in PROFILE_FIELDS:
            problems.append(f"survivorship.rules.{name}: unknown field "
                            f"(known: {', '.join(PROFILE_FIELDS)})")
        if rule not in RULES:
            problems.append(f"survivorship.rules.{name}: {rule!r} is not one of "
                            f"{', '.join(RULES)}")
    priority = raw.get("source_priority", SurvivorshipConfig().source_priority)
    if not isinstance(priority, list | tuple) or not all(isinstance(p, str) for p in priority):
        problems.append("survivorship.source_priority: expected a list of source names")
        priority = SurvivorshipConfig().source_priority
    return SurvivorshipConfig(rules=dict(rules), source_priority=tuple(priority))


def load_config(source: str | Path | Mapping[str, Any] | Config | None = None) -> Config:
    """Build a :class:`Config` from a TOML file path, a dict, or nothing (defaults).

    Relative source paths in a TOML file are resolved against the file's folder.
    Raises :class:`ConfigError` listing every problem at once.
    """
    if source is None:
        return Config()
    if isinstance(source, Config):
        return source
    base = None
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            raw: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
        base = path.parent
    else:
        raw = source
    problems: list[str] = []
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        problems.append(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    sources = _parse_sources(raw.get("sources", {}), problems)
    if base is not None:
        sources = tuple(
            dataclasses.replace(s, path=str(base / s.path)) if s.path and not Path(s.path).is_absolute() else s
            for s in sources
        )
    region = raw.get("default_region", "FR")
    if not isinstance(region, str) or len(region) != 2 or not region.isalpha():
        problems.append(f"default_region: expected a two-letter region code, got {region!r}")
        region = "FR"
    rules = _parse_rules(raw.get("identifiers", {}), problems)
    matching = _parse_matching(raw.get("matching", {}), problems)
    survivorship = _parse_survivorship(raw.get("survivorship", {}), problems)
    if base is not None and matching.model and not Path(matching.model).is_absolute():
        matching = dataclasses.replace(matching, model=str(base / matching.model))
    if problems:
        raise ConfigError(problems)
    return Config(sources=sources, default_region=region.upper(), identifiers=rules,
                  matching=matching, survivorship=survivorship)
