"""CRM customer table, CSV or parquet: ``customer_id,email,phone,first_name,last_name,
birth_date,street,postcode,city,country,loyalty_id,created_at``.

The customer id is both the record id and the account id, the strongest identifier
there is: two records with different account ids are never one customer.
"""

from __future__ import annotations

from pathlib import Path

from cxid.ingest._common import ColumnMapping, TableLayout, check_table_source, read_table_source
from cxid.schema import ReadResult

LAYOUT = TableLayout(
    kind="crm",
    columns={
        "customer_id": "account_id",
        "email": "email",
        "phone": "phone",
        "first_name": "first_name",
        "last_name": "last_name",
        "birth_date": "birth_date",
        "street": "street",
        "postcode": "postcode",
        "city": "city",
        "country": "country",
        "loyalty_id": "loyalty_id",
        "created_at": "observed_at",
    },
    required=("customer_id",),
    record_id_from="account_id",
    must_have=("account_id",),
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
    """Read CRM customers; a row without customer_id or with a bad created_at is
    rejected, and a repeated customer_id is rejected as a duplicate."""
    return read_table_source(path, LAYOUT, source=source, mapping=mapping, id_column=id_column)


__all__ = ["LAYOUT", "REQUIRED_COLUMNS", "check", "read"]
