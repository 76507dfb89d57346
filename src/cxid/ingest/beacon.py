"""In-store beacon sightings: CSV ``sighting_id,timestamp,store_id,beacon_uuid,major,
minor,device_id,rssi,app_user_id``.

A sighting ties the phone's advertising id (and the app account, when the shopper is
logged in) to a store visit. The all-zeros advertising id is kept as found: the
normaliser nulls it, so the raw value stays auditable.
"""

from __future__ import annotations

from cxid.ingest._common import TableLayout, TableReader

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


_READER = TableReader(LAYOUT)
check = _READER.check
read = _READER.read


__all__ = ["LAYOUT", "REQUIRED_COLUMNS", "check", "read"]
