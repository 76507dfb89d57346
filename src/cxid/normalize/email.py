"""E-mail addresses: one canonical form per mailbox, placeholders removed.

``<Marie.Dupont+promo@GoogleMail.com>`` and ``mariedupont@gmail.com`` reach the same
mailbox, so they must become the same identifier value. Placeholder addresses typed
to get past a mandatory field (``test@test.com``, ``pas.de.mail@orange.fr``) and
disposable domains would otherwise glue unrelated people together.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from cxid.normalize.names import Normalized, Status, map_values, on_distinct

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


_MAILTO_RE = re.compile(r"^mailto:")
_BRACKETS_RE = re.compile(r"<\s*([^<>]*?)\s*>")
_SHAPE_RE = re.compile(_SHAPE)
_BAD_DOTS_RE = re.compile(r"^\.|\.$|\.\.")
_TAG_RE = re.compile(r"\+.*$")
_LABEL_RE = re.compile(r"^([^.]+)\.")
_JUNK_LOCAL_RE = re.compile(_JUNK_LOCAL)
_JUNK_LOCAL_PREFIX_RE = re.compile(_JUNK_LOCAL_PREFIX)
_ONE_CHAR_RE = re.compile(r"(.)\1*")
_JUNK_DOMAIN_RE = re.compile(_JUNK_DOMAIN)


def _email_rule(raw: str) -> tuple[str | None, int]:
    """One distinct raw value → (canonical address or None, status)."""
    s = _MAILTO_RE.sub("", raw.strip().lower())
    # "Marie <marie@x.fr>" or "<marie@x.fr>": keep what is inside the brackets.
    inside = _BRACKETS_RE.search(s)
    if inside is not None:
        s = inside.group(1)
    s = s.strip().strip("'\".;,")
    if s == "":
        return None, Status.MISSING
    parts = _SHAPE_RE.search(s)
    if parts is None:
        return None, Status.INVALID
    local, domain = parts.group(1), parts.group(2)
    if _BAD_DOTS_RE.search(local):
        return None, Status.INVALID
    if domain == "googlemail.com":
        domain = "gmail.com"
    local = _TAG_RE.sub("", local)
    if domain in _GMAIL:
        local = local.replace(".", "")
    if local == "":
        return None, Status.INVALID
    label = _LABEL_RE.search(domain)
    if (
        _JUNK_LOCAL_RE.search(local)
        or _JUNK_LOCAL_PREFIX_RE.search(local)
        or _ONE_CHAR_RE.fullmatch(local)
        or (label is not None and local == label.group(1))
        or _JUNK_DOMAIN_RE.search(domain)
        or domain in DISPOSABLE_DOMAINS
    ):
        return None, Status.JUNK
    return f"{local}@{domain}", Status.OK


def _email_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return map_values(u, _email_rule)


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


_LOCAL_PART_RE = re.compile(r"^([^@]+)@")
_NOT_ALNUM_RE = re.compile(r"[^a-z0-9]+")


def _local_rule(email: str) -> tuple[str | None, int]:
    if not email.strip():
        return None, Status.MISSING
    local = _LOCAL_PART_RE.search(email)
    if local is None:
        return None, Status.INVALID
    text = _NOT_ALNUM_RE.sub("", local.group(1))
    return (text, Status.OK) if text else (None, Status.INVALID)


def _local_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return map_values(u, _local_rule)


def email_local_part_with_status(email_norm: pd.Series) -> Normalized:
    """:func:`email_local_part` plus per-row status codes (INVALID: nothing left)."""
    return on_distinct(email_norm, _local_kernel)


def email_local_part(email_norm: pd.Series) -> pd.Series:
    """Local part of a normalised e-mail with only ``[a-z0-9]`` kept, for comparing
    with Twitter handles (``marie.dupont@x.fr`` → ``mariedupont``); empty → null."""
    return email_local_part_with_status(email_norm).values
