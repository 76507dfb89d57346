"""E-mail addresses: one canonical form per mailbox, placeholders removed.

``<Marie.Dupont+promo@GoogleMail.com>`` and ``mariedupont@gmail.com`` reach the same
mailbox, so they must become the same identifier value. Placeholder addresses typed
to get past a mandatory field (``test@test.com``, ``pas.de.mail@orange.fr``) and
disposable domains would otherwise glue unrelated people together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxid.normalize.names import Normalized, blank, on_distinct, status_array, values_where_ok

__all__ = [
    "DISPOSABLE_DOMAINS",
    "email_local_part",
    "email_local_part_with_status",
    "normalize_email",
    "normalize_email_with_status",
]

#: Throw-away mailbox providers: an address there identifies nobody for long.
DISPOSABLE_DOMAINS: frozenset[str] = frozenset({
    "mailinator.com", "yopmail.com", "yopmail.fr", "yopmail.net", "jetable.org",
    "guerrillamail.com", "guerrillamail.net", "sharklasers.com", "10minutemail.com",
    "trashmail.com", "tempmail.com", "temp-mail.org", "throwawaymail.com",
    "maildrop.cc", "getnada.com", "dispostable.com", "fakeinbox.com", "spam4.me",
})

_GMAIL = frozenset({"gmail.com", "googlemail.com"})

_LOCAL = r"[^@\s<>()\[\],;:\"]+"
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)"
_SHAPE = rf"^({_LOCAL})@({_DOMAIN})$"

_SEP = r"[-_.]?"
#: Local parts that mean "no address" whatever the domain.
_JUNK_LOCAL = (
    rf"^(?:no{_SEP}reply|do{_SEP}not{_SEP}reply|ne{_SEP}pas{_SEP}repondre|"
    rf"no{_SEP}e?mail|nomail|aucun|aucune|pas{_SEP}de{_SEP}(?:e?mail|courriel)|"
    rf"pas{_SEP}d{_SEP}e?mail|sans{_SEP}e?mail|refus|refuse|test|tests|none|null|nobody|"
    rf"inconnu|unknown|email|e{_SEP}mail|mail|xxx+)$"
)
_JUNK_LOCAL_PREFIX = rf"^(?:no{_SEP}reply|do{_SEP}not{_SEP}reply|nomail|no{_SEP}mail)"
#: Domains whose first label marks a placeholder (``example.com``, ``test.fr``).
_JUNK_DOMAIN = (
    r"^(?:example|exemple|test|tests|domain|domaine|nomail|noemail|invalid|localhost|"
    r"xxx+|email|mail)\.[a-z]+$|\.(?:test|invalid|example|localhost)$"
)


def _email_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    s = u.str.strip().str.lower()
    s = s.str.replace(r"^mailto:", "", regex=True)
    # "Marie <marie@x.fr>" or "<marie@x.fr>": keep what is inside the brackets.
    inside = s.str.extract(r"<\s*([^<>]*?)\s*>")[0]
    s = inside.fillna(s).str.strip().str.strip("'\".;,")
    missing = (s == "").to_numpy(bool)
    parts = s.str.extract(_SHAPE)
    local, domain = parts[0], parts[1]
    invalid = local.isna().to_numpy(bool) | local.str.contains(r"^\.|\.$|\.\.", regex=True).fillna(
        False
    ).to_numpy(bool)

    domain = domain.replace("googlemail.com", "gmail.com")
    local = local.str.replace(r"\+.*$", "", regex=True)
    gmail = domain.isin(_GMAIL).to_numpy(bool)
    local = local.where(~gmail, local.str.replace(".", "", regex=False))
    invalid |= (local.fillna("") == "").to_numpy(bool)

    label = domain.str.extract(r"^([^.]+)\.")[0]
    junk = (
        local.str.contains(_JUNK_LOCAL, regex=True)
        | local.str.contains(_JUNK_LOCAL_PREFIX, regex=True)
        | local.str.fullmatch(r"(.)\1*")
        | (local == label)
        | domain.str.contains(_JUNK_DOMAIN, regex=True)
        | domain.isin(DISPOSABLE_DOMAINS)
    ).fillna(False).to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=junk & ~invalid, missing=missing)
    return values_where_ok(local + "@" + domain, status), status


def normalize_email_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_email` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _email_kernel)


def normalize_email(series: pd.Series) -> pd.Series:
    """Normalise an e-mail column to one canonical form per mailbox.

    Trim, lower case, strip ``mailto:`` and ``<>`` (a display name before them is
    dropped), check the shape (one ``@``, a dotted domain, no spaces), map
    googlemail.com → gmail.com, drop ``+tags`` and, for gmail, dots in the local part.
    Invalid shapes and placeholders (``test@test.com``, ``noreply@…``,
    ``aaaa@…``, ``example.com``, disposable domains) → null.
    """
    return normalize_email_with_status(series).values


def _local_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    local = u.str.extract(r"^([^@]+)@")[0].str.replace(r"[^a-z0-9]+", "", regex=True)
    missing = blank(u)
    invalid = (local.fillna("") == "").to_numpy(bool)
    status = status_array(len(u), invalid=invalid, missing=missing)
    return values_where_ok(local, status), status


def email_local_part_with_status(email_norm: pd.Series) -> Normalized:
    """:func:`email_local_part` plus per-row status codes (INVALID: nothing left)."""
    return on_distinct(email_norm, _local_kernel)


def email_local_part(email_norm: pd.Series) -> pd.Series:
    """Local part of a normalised e-mail with only ``[a-z0-9]`` kept, for comparing
    with Twitter handles (``marie.dupont@x.fr`` → ``mariedupont``); empty → null."""
    return email_local_part_with_status(email_norm).values
