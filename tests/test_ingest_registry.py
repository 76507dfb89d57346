"""The reader registry and the pre-flight checks of read_source/check_source."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxid.config import SOURCE_KINDS
from cxid.errors import ConfigError, IngestError
from cxid.ingest import READERS, check_source, read_source


def test_registry_covers_every_configurable_kind() -> None:
    assert set(READERS) == set(SOURCE_KINDS)
    for kind, spec in READERS.items():
        assert spec.kind == kind


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    missing = tmp_path / "nulle-part.csv"
    with pytest.raises(IngestError) as info:
        check_source("crm", missing, source="crm_fr")
    assert info.value.file == str(missing)
    assert info.value.source == "crm_fr"
    assert "not found" in str(info.value)


def test_directory_is_an_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a regular file"):
        read_source("web", tmp_path)


def test_unknown_kind_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown kind 'facebook'"):
        check_source("facebook", path)


def test_source_defaults_to_kind(tmp_path: Path) -> None:
    path = tmp_path / "sightings.csv"
    path.write_text(
        "sighting_id,timestamp,store_id,beacon_uuid,major,minor,device_id,rssi,app_user_id\n"
        "S1,2024-03-06 10:15:02,ST-1,u,1,2,dev,-60,\n",
        encoding="utf-8",
    )
    assert list(read_source("beacon", path).touchpoints["source"]) == ["beacon"]
    assert list(read_source("beacon", path, source="magasins").touchpoints["source"]) == [
        "magasins"]


def test_empty_csv_without_header_is_an_ingest_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(IngestError, match="no header"):
        check_source("esp", path)
