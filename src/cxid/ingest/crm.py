"""CRM customer table, CSV or parquet: ``customer_id,email,phone,first_name,last_name,
birth_date,street,postcode,city,country,loyalty_id,created_at``.

The customer id is both the record id and the account id, the strongest identifier
there is: two records with different account ids are never one customer.
"""

from __future__ import annotations

from cxid.ingest._common import TableLayout, TableReader

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


_READER = TableReader(LAYOUT)
check = _READER.check
read = _READER.read


__all__ = ["LAYOUT", "REQUIRED_COLUMNS", "check", "read"]
