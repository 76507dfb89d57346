"""E-mail service provider audience export (Mailchimp headers): ``Email Address,
First Name,Last Name,Address,Phone Number,Birthday,OPTIN_TIME``.

The address is one free-text field and is kept whole in ``address``; Mailchimp
birthdays are ``MM/DD`` without a year and are kept raw. Records are numbered by
data row because the export has no stable id (map ``record_id`` to ``LEID`` or
``EUID`` when the export has them). A French export (``Adresse e-mail``...) is read
with a mapping such as ``{"Email Address": "Adresse e-mail"}``.
"""

from __future__ import annotations

from cxid.ingest._common import TableLayout, TableReader

LAYOUT = TableLayout(
    kind="esp",
    columns={
        "Email Address": "email",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Address": "address",
        "Phone Number": "phone",
        "Birthday": "birth_date",
        "OPTIN_TIME": "observed_at",
    },
    required=("Email Address",),
    must_have=("email",),
)

#: Header names that must be in the file (after mapping).
REQUIRED_COLUMNS = LAYOUT.required


_READER = TableReader(LAYOUT)
check = _READER.check
read = _READER.read


__all__ = ["LAYOUT", "REQUIRED_COLUMNS", "check", "read"]
