"""cxid: unified customer-identity resolution.

Touchpoints from web, store beacons, Twitter, e-mail, an ESP export and a CRM are read,
normalised, linked into identity graphs and resolved into one customer-ID table.
"""

from __future__ import annotations

import logging

from cxid.errors import ConfigError, CxidError, IngestError, NotFittedError, SchemaError

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str):  # lazy: importing cxid stays cheap
    if name == "resolve":
        from cxid.pipeline import resolve

        return resolve
    if name == "resolve_to":
        from cxid.pipeline import resolve_to

        return resolve_to
    if name == "load_config":
        from cxid.config import load_config

        return load_config
    if name == "Resolution":
        from cxid.resolution import Resolution

        return Resolution
    raise AttributeError(f"module 'cxid' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "CxidError",
    "IngestError",
    "NotFittedError",
    "Resolution",
    "SchemaError",
    "__version__",
    "load_config",
    "resolve",
    "resolve_to",
]
