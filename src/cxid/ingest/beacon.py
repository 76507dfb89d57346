"""In-store beacon sightings: CSV ``sighting_id,timestamp,store_id,beacon_uuid,major,
minor,device_id,rssi,app_user_id``.

A sighting ties the phone's advertising id (and the app account, when the shopper is
logged in) to a store visit. The all-zeros advertising id is kept as found: the
normaliser nulls it, so the raw value stays auditable.
"""

from __future__ import annotations

from pathlib import Path

from cxid.ingest._common import ColumnMapping, TableLayout, check_table_source, read_table_source
from cxid.schema import ReadResult

LAYOUT = TableLayout(
    kind="beacon",
    columns={
        "sighting_id": "record_id",
        "timestamp": "observed_at",
        "store_id": "store_id",
        "device_id": "device_id",
        "app_user_id": "account_id",
    },
    required=("sighting_id", "timestamp", "device_id"),
)

#: Header names that must be in the file (after mapping).
REQUIRED_COLUMNS = LAYOUT.required


def check(
    path: Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> None:
    """Check the header and the mapping before reading."""
    check_table_source(path, LAYOUT, source=source, mapping=mapping, id_column=id_column)


def read(
    path: str | Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read beacon sightings; a row without sighting_id or with a bad timestamp is
    rejected."""
    return read_table_source(path, LAYOUT, source=source, mapping=mapping, id_column=id_column)


__all__ = ["LAYOUT", "REQUIRED_COLUMNS", "check", "read"]
