"""Config loading: defaults, TOML, and one error listing every problem."""

import pytest

from cxid.config import Config, load_config
from cxid.errors import ConfigError


def test_defaults_are_safe():
    cfg = load_config()
    assert cfg == Config()
    assert cfg.default_region == "FR"
    assert cfg.rule("account").max_accounts is None
    assert cfg.rule("device").max_accounts == 1


def test_toml_with_relative_paths(tmp_path):
    (tmp_path / "cxid.toml").write_text(
        """
default_region = "be"
[sources.shop]
kind = "crm"
path = "exports/crm.csv"
mapping = { email = "Adresse e-mail" }
[identifiers.email]
max_people = 2
""",
        encoding="utf-8",
    )
    cfg = load_config(tmp_path / "cxid.toml")
    assert cfg.default_region == "BE"
    (src,) = cfg.sources
    assert src.kind == "crm" and src.path == str(tmp_path / "exports/crm.csv")
    assert src.mapping == {"email": "Adresse e-mail"}
    assert cfg.rule("email").max_people == 2
    assert cfg.rule("phone").max_people == 1


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as info:
        load_config({
            "colour": "blue",
            "default_region": "France",
            "sources": {"x": {"kind": "fax", "path": ""}},
            "identifiers": {"email": {"max_people": 0, "bogus": 1}, "iban": {}},
        })
    problems = info.value.problems
    assert len(problems) == 7, problems
    text = str(info.value)
    for needle in ("colour", "default_region", "fax", "sources.x.path", "max_people",
                   "bogus", "iban"):
        assert needle in text


def test_missing_or_invalid_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[[", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_survivorship_rules_are_validated_and_round_trip():
    from cxid.config import config_from_dict

    cfg = load_config({"survivorship": {"rules": {"email": "most_trusted"},
                                        "source_priority": ["web", "crm"]}})
    assert cfg.survivorship.rules == {"email": "most_trusted"}
    assert config_from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError) as info:
        load_config({"survivorship": {"rules": {"email": "loudest", "shoe_size": "most_recent"}}})
    assert len(info.value.problems) == 2


def test_readme_config_example_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("```toml", 1)[1].split("```", 1)[0]
    (tmp_path / "cxid.toml").write_text(block, encoding="utf-8")
    cfg = load_config(tmp_path / "cxid.toml")
    assert {s.name for s in cfg.sources} == {"boutique", "legacy"}
    assert cfg.matching.threshold == 0.9
