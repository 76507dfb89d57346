"""E-mail normalisation: canonical mailbox form, placeholders to null."""

from __future__ import annotations

import pandas as pd
import pytest

from cxid.normalize.email import (
    email_local_part,
    normalize_email,
    normalize_email_with_status,
)
from cxid.normalize.names import Status


def _one(value: str | None) -> str | None:
    out = normalize_email(pd.Series([value], dtype="string")).iloc[0]
    return None if pd.isna(out) else out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("marie.dupont@orange.fr", "marie.dupont@orange.fr"),
        ("  Marie.Dupont@Orange.FR  ", "marie.dupont@orange.fr"),
        ("mailto:jean@free.fr", "jean@free.fr"),
        ("<jean@free.fr>", "jean@free.fr"),
        ('"Jean Martin" <Jean.Martin@Free.fr>', "jean.martin@free.fr"),
        ("Marie.Dupont@gmail.com", "mariedupont@gmail.com"),
        ("m.a.r.i.e.dupont+promo@googlemail.com", "mariedupont@gmail.com"),
        ("marie.dupont+newsletter@orange.fr", "marie.dupont@orange.fr"),
        ("marie_dupont@laposte.net", "marie_dupont@laposte.net"),
        ("élodie@orange.fr", "élodie@orange.fr"),
        ("marie@orange.fr;", "marie@orange.fr"),  # stray punctuation around the address
    ],
)
def test_normalises(raw: str, expected: str) -> None:
    assert _one(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["marie", "marie@", "@orange.fr", "marie@orange", "ma rie@orange.fr", "a@@b.fr",
     "marie..dupont@orange.fr", "marie.@orange.fr", "marie@orange..fr", "+tag@orange.fr"],
)
def test_invalid(raw: str) -> None:
    result = normalize_email_with_status(pd.Series([raw], dtype="string"))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.INVALID


@pytest.mark.parametrize(
    "raw",
    ["test@test.com", "a@a.fr", "noreply@brand.fr", "no-reply@brand.com", "xxx@xxx.xx",
     "email@email.com", "nomail@orange.fr", "aucun@free.fr", "pas.de.mail@gmail.com",
     "refus@sfr.fr", "aaaa@gmail.com", "marie@example.com", "marie@test.fr",
     "marie@mailinator.com", "marie@yopmail.com", "test+1@gmail.com"],
)
def test_junk(raw: str) -> None:
    result = normalize_email_with_status(pd.Series([raw], dtype="string"))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.JUNK


def test_missing_and_blank_are_not_counted_as_junk() -> None:
    result = normalize_email_with_status(pd.Series([None, "", "   "], dtype="string"))
    assert result.values.isna().all()
    assert list(result.status) == [Status.MISSING] * 3


def test_keeps_index_and_string_dtype() -> None:
    s = pd.Series(["Ab@Orange.fr", None], index=[10, 20], dtype="string")
    out = normalize_email(s)
    assert list(out.index) == [10, 20]
    assert isinstance(out.dtype, pd.StringDtype)
    assert out.loc[10] == "ab@orange.fr"


def test_object_input() -> None:
    out = normalize_email(pd.Series(["Ab@Orange.fr", None, float("nan")], dtype=object))
    assert out.iloc[0] == "ab@orange.fr"
    assert out.iloc[1:].isna().all()


@pytest.mark.parametrize(
    ("email_norm", "expected"),
    [("marie.dupont@orange.fr", "mariedupont"), ("jean_m-2@free.fr", "jeanm2"),
     ("mariedupont@gmail.com", "mariedupont"), (None, None), ("__@free.fr", None)],
)
def test_local_part(email_norm: str | None, expected: str | None) -> None:
    out = email_local_part(pd.Series([email_norm], dtype="string")).iloc[0]
    assert (None if pd.isna(out) else out) == expected
