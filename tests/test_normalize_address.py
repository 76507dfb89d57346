"""Address parts: postcode, city, street, country, and free-text parsing."""

from __future__ import annotations

import pandas as pd
import pytest

from cxid.normalize.address import (
    normalize_address,
    normalize_address_with_status,
    normalize_city,
    normalize_city_with_status,
    normalize_country,
    normalize_postcode,
    normalize_postcode_with_status,
    normalize_street,
    parse_address,
)
from cxid.normalize.names import Status


def S(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def _na(value: object) -> object:
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("75002", None, "75002"),
        (" 75 002 ", None, "75002"),
        ("6000", None, "06000"),
        ("6000", "FR", "06000"),
        ("F-75002", None, "75002"),
        ("20000", "FR", "20000"),
        ("6000", "BE", "6000"),
        ("1204", "CH", "1204"),
        ("sw1a 1aa", "GB", "SW1A1AA"),
        ("SW1A 1AA", None, "SW1A1AA"),
        ("H2X 1Y4", "CA", "H2X1Y4"),
        ("10115", "DE", "10115"),
    ],
)
def test_postcode(raw: str, country: str | None, expected: str) -> None:
    assert normalize_postcode(S(raw), S(country)).iloc[0] == expected


@pytest.mark.parametrize(
    ("raw", "country", "status"),
    [("00000", None, Status.JUNK), ("99999", "FR", Status.JUNK), ("N/A", None, Status.JUNK),
     ("7500", "FR", Status.OK), ("750", "FR", Status.INVALID), ("ABCDE", "FR", Status.INVALID),
     ("99000", "FR", Status.INVALID), (None, "FR", Status.MISSING)],
)
def test_postcode_status(raw: str | None, country: str | None, status: Status) -> None:
    assert normalize_postcode_with_status(S(raw), S(country)).status[0] == status


def test_postcode_without_country_series() -> None:
    assert normalize_postcode(S("6000", "sw1a 1aa")).tolist() == ["06000", "SW1A1AA"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Paris", "paris"),
        ("PARIS", "paris"),
        ("Paris 15e", "paris"),
        ("Paris 15ème", "paris"),
        ("Paris 1er", "paris"),
        ("Paris 02", "paris"),
        ("PARIS CEDEX 15", "paris"),
        ("Lyon 3e arrondissement", "lyon"),
        ("Marseille 13013", "marseille"),
        ("Lyon, France", "lyon"),
        ("Bordeaux, Nouvelle-Aquitaine", "bordeaux"),
        ("St-Étienne", "saint etienne"),
        ("Saint-Étienne", "saint etienne"),
        ("Ste-Foy-lès-Lyon", "sainte foy les lyon"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("75002 Paris", "paris"),
        ("Aix-en-Provence 📍", "aix en provence"),
        ("Paris (75)", "paris"),
    ],
)
def test_city(raw: str, expected: str) -> None:
    assert normalize_city(S(raw)).iloc[0] == expected


@pytest.mark.parametrize("raw", ["France", "Worldwide 🌍", "N/A", "inconnu", "-"])
def test_city_junk(raw: str) -> None:
    result = normalize_city_with_status(S(raw))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.JUNK


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3 av. Foch", "3 avenue foch"),
        ("3 Av Foch", "3 avenue foch"),
        ("12 bd Saint-Germain", "12 boulevard saint germain"),
        ("12bis, Bd. St-Germain", "12 bis boulevard saint germain"),
        ("4 ter r. de la Paix", "4 ter rue de la paix"),
        ("1 pl. Bellecour", "1 place bellecour"),
        ("4 chem. des Vignes", "4 chemin des vignes"),
        ("44 ch. du Stade", "44 chemin du stade"),
        ("2 imp du Moulin", "2 impasse du moulin"),
        ("5 all. des Roses", "5 allee des roses"),
        ("n° 12, rue Victor-Hugo", "12 rue victor hugo"),
        ("8 rue de l'Église", "8 rue de l eglise"),
        ("10 Rue Sainte-Catherine", "10 rue sainte catherine"),
    ],
)
def test_street(raw: str, expected: str) -> None:
    assert normalize_street(S(raw)).iloc[0] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("France", "FR"), ("FR", "FR"), ("fr", "FR"), ("FRA", "FR"), ("French Republic", "FR"),
     ("République française", "FR"), ("Belgique", "BE"), ("Belgium", "BE"), ("Suisse", "CH"),
     ("Luxembourg", "LU"), ("Allemagne", "DE"), ("España", "ES"), ("Italie", "IT"),
     ("Royaume-Uni", "GB"), ("UK", "GB"), ("USA", "US"), ("États-Unis", "US"),
     ("Canada", "CA"), ("Maroc", "MA"), ("PT", "PT"), ("Atlantis", None), ("N/A", None)],
)
def test_country(raw: str, expected: str | None) -> None:
    assert _na(normalize_country(S(raw)).iloc[0]) == expected


@pytest.mark.parametrize(
    ("raw", "street", "postcode", "city", "country"),
    [
        ("12 rue de la Paix, 75002 Paris", "12 rue de la paix", "75002", "paris", None),
        ("3 av. Foch 69006 LYON", "3 av. foch", "69006", "lyon", None),
        ("12 rue de la Paix 75002 Paris France", "12 rue de la paix", "75002", "paris",
         "france"),
        ("12 rue de la Paix, 75002 Paris, France", "12 rue de la paix", "75002", "paris",
         "france"),
        ("75002 Paris", None, "75002", "paris", None),
        ("12 rue de la Paix", "12 rue de la paix", None, None, None),
        ("5 rue X, 75 008 Paris Cedex 08", "5 rue x", "75 008", "paris cedex 08", None),
    ],
)
def test_parse_address(raw: str, street, postcode, city, country) -> None:
    row = parse_address(S(raw)).iloc[0]
    assert [_na(row[c]) for c in ("street", "postcode", "city", "country")] == [
        street, postcode, city, country]


def test_normalize_address_fills_from_free_text_and_infers_country() -> None:
    frame, status = normalize_address_with_status(
        street=S(None, None, "1 av. Foch", None),
        postcode=S(None, "6000", None, "1000"),
        city=S(None, "Nice", None, "Bruxelles"),
        country=S(None, None, None, "Belgique"),
        address=S("12 rue de la Paix, 75002 Paris", None, None, None),
    )
    got = {c: [_na(v) for v in frame[c]] for c in frame.columns}
    assert got == {
        "street_norm": ["12 rue de la paix", None, "1 avenue foch", None],
        "postcode_norm": ["75002", "06000", None, "1000"],
        "city_norm": ["paris", "nice", None, "bruxelles"],
        "country_norm": ["FR", "FR", None, "BE"],
    }
    assert list(status["country_norm"]) == [Status.OK, Status.OK, Status.MISSING, Status.OK]


def test_normalize_address_no_country_inference_outside_france() -> None:
    frame = normalize_address(S(None), S("75002"), S("Paris"), S(None), default_country="BE")
    assert pd.isna(frame["country_norm"].iloc[0])
