"""cxid: unified customer-identity resolution.

Touchpoints from web, store beacons, Twitter, e-mail, an ESP export and a CRM are read,
normalised, linked into identity graphs and resolved into one customer-ID table.
"""

from __future__ import annotations

import logging

from cxid.errors import ConfigError, CxidError, IngestError, NotFittedError, SchemaError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ConfigError",
    "CxidError",
    "IngestError",
    "NotFittedError",
    "SchemaError",
    "__version__",
]
