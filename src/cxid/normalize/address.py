"""Postal addresses: street, postcode, city and country in comparable forms.

French addresses are written many ways (``3 av. Foch``, ``3 avenue Foch``; ``Paris 15e``,
``PARIS CEDEX 15``; ``6000`` for ``06000`` after a spreadsheet ate the zero). Each part
is normalised on its distinct values with vectorised regexes. ESP exports carry one
free-text ``address`` (``12 rue de la Paix, 75002 Paris``) that
:func:`parse_address` splits into parts.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import phonenumbers

from cxid.normalize.names import (
    Normalized,
    Status,
    blank,
    blank_rows,
    broadcast,
    broadcast_status,
    distinct,
    fold_ascii,
    on_distinct,
    status_array,
    strip_symbols,
    values_where_ok,
)

__all__ = [
    "COUNTRY_NAMES",
    "STREET_ABBREVIATIONS",
    "normalize_address",
    "normalize_address_with_status",
    "normalize_city",
    "normalize_city_with_status",
    "normalize_country",
    "normalize_country_with_status",
    "normalize_postcode",
    "normalize_postcode_with_status",
    "normalize_street",
    "normalize_street_with_status",
    "parse_address",
]

#: Country names and codes (ASCII, lower case, punctuation as spaces) → ISO alpha-2.
#: Any other ISO alpha-2 code is accepted as is.
COUNTRY_NAMES: dict[str, str] = {
    **dict.fromkeys(["france", "fr", "fra", "french republic", "republique francaise",
                     "la france", "france metropolitaine"], "FR"),
    **dict.fromkeys(["belgique", "belgium", "belgie", "be", "bel"], "BE"),
    **dict.fromkeys(["suisse", "switzerland", "schweiz", "svizzera", "ch", "che"], "CH"),
    **dict.fromkeys(["luxembourg", "lu", "lux"], "LU"),
    **dict.fromkeys(["allemagne", "germany", "deutschland", "de", "deu"], "DE"),
    **dict.fromkeys(["espagne", "spain", "espana", "es", "esp"], "ES"),
    **dict.fromkeys(["italie", "italy", "italia", "it", "ita"], "IT"),
    **dict.fromkeys(["royaume uni", "united kingdom", "uk", "gb", "gbr", "great britain",
                     "grande bretagne", "angleterre", "england"], "GB"),
    **dict.fromkeys(["etats unis", "etats unis d amerique", "united states",
                     "united states of america", "usa", "us"], "US"),
    **dict.fromkeys(["canada", "ca", "can"], "CA"),
    **dict.fromkeys(["maroc", "morocco", "ma", "mar"], "MA"),
}

_ISO_ALPHA2 = frozenset(phonenumbers.SUPPORTED_REGIONS)

_JUNK_WORDS = frozenset({
    "", "n a", "na", "nc", "n c", "null", "none", "nan", "inconnu", "inconnue", "unknown",
    "test", "xxx", "xx", "x", "aucun", "aucune", "neant", "undefined",
})
#: Twitter locations that name no city.
_JUNK_CITIES = _JUNK_WORDS | frozenset({
    "france", "world", "worldwide", "earth", "terre", "partout", "ici", "internet",
    "everywhere", "somewhere", "monde", "europe",
})

#: Street-type abbreviations (a token, optionally followed by '.') → full word.
STREET_ABBREVIATIONS: dict[str, str] = {
    "av": "avenue", "ave": "avenue", "avn": "avenue",
    "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard", "bvd": "boulevard",
    "boul": "boulevard",
    "r": "rue",
    "pl": "place",
    "chem": "chemin", "chm": "chemin", "ch": "chemin",
    "imp": "impasse",
    "all": "allee",
    "rte": "route",
    "fbg": "faubourg", "fg": "faubourg", "faub": "faubourg",
    "sq": "square",
    "crs": "cours",
    "res": "residence", "resid": "residence",
    "st": "saint", "ste": "sainte",
    "gd": "grand", "gde": "grande",
    "prom": "promenade",
    "lot": "lotissement",
}
_ABBREVIATION_RE = r"\b(" + "|".join(sorted(STREET_ABBREVIATIONS, key=len, reverse=True)) + r")\b\.?"

_COUNTRY_WORDS = sorted((k for k in COUNTRY_NAMES if len(k) > 3), key=len, reverse=True)
_FR_POSTCODE = r"(?:0[1-9]|[1-8]\d|9[0-8])\d{3}"


def _fullmatch_rows(series: pd.Series, pattern: str) -> np.ndarray:
    """Per-row ``str.fullmatch`` (null → False), matched once per distinct value."""
    codes, uniques = distinct(series)
    return np.append(uniques.str.fullmatch(pattern).to_numpy(bool), False)[codes]


def _fold_lower(u: pd.Series) -> pd.Series:
    return strip_symbols(fold_ascii(u)).str.lower().str.strip()


# --------------------------------------------------------------------------- country


def _country_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    key = _fold_lower(u).str.replace(r"[^a-z]+", " ", regex=True).str.strip()
    code = key.map(COUNTRY_NAMES).astype("string")
    alpha2 = key.str.upper().where(key.str.upper().isin(_ISO_ALPHA2))
    code = code.fillna(alpha2)
    junk = key.isin(_JUNK_WORDS).to_numpy(bool)
    invalid = code.isna().to_numpy(bool)
    status = status_array(len(u), invalid=invalid, junk=junk, missing=missing)
    return values_where_ok(code, status), status


def normalize_country_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_country` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _country_kernel)


def normalize_country(series: pd.Series) -> pd.Series:
    """Country names or codes → ISO 3166 alpha-2 (``France``, ``fr``, ``FRA``,
    ``French Republic`` → ``FR``). Unknown names → null."""
    return normalize_country_with_status(series).values


# --------------------------------------------------------------------------- postcode


def _postcode_kernel(u: pd.Series) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per distinct postcode: (French value, French status, foreign status)."""
    missing = blank(u)
    s = u.str.strip().str.upper()
    generic = s.str.replace(r"\s+", "", regex=True)
    fr = s.str.replace(r"^FR?\s*-\s*", "", regex=True).str.replace(r"[\s.]+", "", regex=True)
    fr = fr.where(~fr.str.fullmatch(r"\d{4}").fillna(False), "0" + fr)
    same = generic.str.fullmatch(r"(.)\1*").fillna(False).to_numpy(bool)
    words = generic.str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    junk = same | words.isin(_JUNK_WORDS).to_numpy(bool)
    fr_ok = fr.str.fullmatch(_FR_POSTCODE).fillna(False).to_numpy(bool)
    generic_ok = generic.str.fullmatch(r"[A-Z0-9][A-Z0-9-]{1,9}").fillna(False).to_numpy(bool)
    fr_status = status_array(len(u), invalid=~fr_ok, junk=junk, missing=missing)
    other_status = status_array(len(u), invalid=~generic_ok, junk=junk, missing=missing)
    return pd.DataFrame({"fr": fr, "other": generic}), fr_status, other_status


def normalize_postcode_with_status(
    series: pd.Series, country: pd.Series | None = None
) -> Normalized:
    """:func:`normalize_postcode` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    codes, uniques = distinct(series)
    values, fr_status, other_status = _postcode_kernel(uniques)
    fr = broadcast(values["fr"], codes, series.index)
    other = broadcast(values["other"], codes, series.index)
    fr_st = broadcast_status(fr_status, codes)
    other_st = broadcast_status(other_status, codes)
    if country is None:
        known = np.zeros(len(series), dtype=bool)
        is_fr = np.zeros(len(series), dtype=bool)
    else:
        country_codes, countries = distinct(country)
        known = country_codes >= 0
        is_fr = np.append(countries.str.upper().isin(["FR", "MC"]).to_numpy(bool),
                          False)[country_codes]
    # Unknown country: French when it looks French (or lost its leading zero).
    use_fr = is_fr | (~known & (fr_st == Status.OK))
    value = pd.Series(np.where(use_fr, fr.array, other.array), index=series.index,
                      dtype="string")
    status = np.where(use_fr, fr_st, other_st).astype(np.int8)
    return Normalized(value.where(status == Status.OK).rename(series.name), status)


def normalize_postcode(series: pd.Series, country: pd.Series | None = None) -> pd.Series:
    """Normalise postal codes.

    French codes (``country`` FR, or unknown country and a French-looking code) are
    five digits: spaces removed, a lost leading zero restored (``6000`` → ``06000``).
    Other codes are upper case without spaces (``sw1a 1aa`` → ``SW1A1AA``); a Belgian
    ``6000`` stays ``6000``. ``country`` holds ISO alpha-2 codes aligned with
    ``series``. Placeholders (``00000``, ``99999``) → null.
    """
    return normalize_postcode_with_status(series, country).values


# --------------------------------------------------------------------------- city

_ARRONDISSEMENT = (
    r"\s+\d{1,2}\s*(?:e|er|eme|ieme|deg|o)?\s*(?:arr(?:ondissement|t)?\.?)?(?=\s|$)"
)


def _city_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = _fold_lower(u)
    s = s.str.replace(r"\s*[,/|;(].*$", "", regex=True)  # "Lyon, France", "Paris (75)"
    s = s.str.replace(r"\bcedex\b(?:\s*\d+)?", " ", regex=True)
    s = s.str.replace(r"^\s*\d{4,5}\s+", "", regex=True)  # leading postcode
    s = s.str.replace(_ARRONDISSEMENT, " ", regex=True)
    s = s.str.replace(r"['’`\-_]", " ", regex=True).str.replace(r"[^a-z ]+", " ", regex=True)
    s = s.str.replace(r"\bst\b", "saint", regex=True).str.replace(r"\bste\b", "sainte", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    junk = s.isin(_JUNK_CITIES).to_numpy(bool) | s.str.fullmatch(r"([a-z])\1*").fillna(
        False
    ).to_numpy(bool)
    status = status_array(len(u), junk=junk, missing=missing)
    return values_where_ok(s, status), status


def normalize_city_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_city` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _city_kernel)


def normalize_city(series: pd.Series) -> pd.Series:
    """Normalise city names: ASCII lower case, hyphens/apostrophes → spaces,
    ``st``/``ste`` → ``saint``/``sainte``, ``cedex`` and arrondissements removed
    (``Paris 15ème``, ``Lyon 3e arrondissement`` → ``paris``, ``lyon``), anything after
    a comma dropped (Twitter ``Lyon, France``). Placeholders (``France``,
    ``Worldwide``, ``N/A``) → null."""
    return normalize_city_with_status(series).values


# --------------------------------------------------------------------------- street


def _street_kernel(u: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(u)
    s = _fold_lower(u)
    s = s.str.replace(r"\bn\s*(?:deg|o\.?)\s*(?=\d)", " ", regex=True)  # "n°12"
    s = s.str.replace(r"(\d+)\s*(bis|ter|quater)\b", r"\1 \2", regex=True)
    s = s.str.replace(r"['’`\-_]", " ", regex=True).str.replace(r"[^a-z0-9.]+", " ", regex=True)
    s = s.str.replace(_ABBREVIATION_RE, lambda m: STREET_ABBREVIATIONS[m.group(1)], regex=True)
    s = s.str.replace(".", " ", regex=False).str.replace(r"\s+", " ", regex=True).str.strip()
    junk = s.isin(_JUNK_WORDS).to_numpy(bool) | s.str.fullmatch(r"[\d ]*").fillna(
        False
    ).to_numpy(bool)
    status = status_array(len(u), junk=junk, missing=missing)
    return values_where_ok(s, status), status


def normalize_street_with_status(series: pd.Series) -> Normalized:
    """:func:`normalize_street` plus per-row :class:`~cxid.normalize.names.Status` codes."""
    return on_distinct(series, _street_kernel)


def normalize_street(series: pd.Series) -> pd.Series:
    """Normalise street lines: ASCII lower case, abbreviations expanded (``av.`` →
    ``avenue``, ``bd`` → ``boulevard``, ``r.`` → ``rue``, ``st`` → ``saint``...),
    ``12bis`` → ``12 bis``, ``n°`` and punctuation removed."""
    return normalize_street_with_status(series).values


# --------------------------------------------------------------------------- free text

_COUNTRY_ALTERNATION = "|".join(re.escape(k) for k in _COUNTRY_WORDS)
_COUNTRY_SUFFIX = rf"(?:^|[\s,;-]+)({_COUNTRY_ALTERNATION})\s*$"
_ADDRESS = (
    r"^(?:(?P<street>.*[^\s,;-])[\s,;-]+)?(?<!\bbp )(?<!\bcs )"
    r"(?P<postcode>(?:f-)?\d{5}|\d{2} \d{3})(?!\d)"
    r"(?:[\s,;-]+(?P<city>.*?))?[\s,;.]*$"
)
_ADDRESS_COLUMNS = ("street", "postcode", "city", "country")


def _parse_kernel(u: pd.Series) -> pd.DataFrame:
    low = _fold_lower(u).str.replace(r"\s+", " ", regex=True)
    country = low.str.extract(_COUNTRY_SUFFIX)[0]
    body = low.str.replace(_COUNTRY_SUFFIX, "", regex=True).str.strip(" ,;-")
    parts = body.str.extract(_ADDRESS)
    # No postcode: the whole text is the street line.
    street = parts["street"].where(parts["postcode"].notna(), body)
    frame = pd.DataFrame({
        "street": street,
        "postcode": parts["postcode"].str.replace(r"^f-", "", regex=True),
        "city": parts["city"],
        "country": country,
    }, columns=list(_ADDRESS_COLUMNS))
    return frame.where(frame != "")


def parse_address(series: pd.Series) -> pd.DataFrame:
    """Split free-text addresses into raw ``street``, ``postcode``, ``city`` and
    ``country`` columns (ASCII lower case, not yet normalised).

    The last five-digit group (``75002``, ``75 002``, ``F-75002``) is the postcode,
    what precedes it the street, what follows it the city; a trailing country name
    (``France``, ``Belgique``...) is split off. Without a postcode the text is taken
    as a street line. ``BP``/``CS`` box numbers are not postcodes.
    """
    codes, uniques = distinct(series)
    parsed = _parse_kernel(uniques)
    return pd.DataFrame(
        {c: broadcast(parsed[c], codes, series.index).array for c in _ADDRESS_COLUMNS},
        index=series.index,
    )


def normalize_address_with_status(
    street: pd.Series,
    postcode: pd.Series,
    city: pd.Series,
    country: pd.Series,
    address: pd.Series | None = None,
    *,
    default_country: str = "FR",
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """:func:`normalize_address` plus per-column :class:`~cxid.normalize.names.Status`
    arrays keyed by output column."""
    raw = {"street": street, "postcode": postcode, "city": city, "country": country}
    if address is not None and address.notna().any():
        parsed = parse_address(address)
        for name, column in raw.items():
            text = column.astype("string")
            fill = parsed[name].notna().to_numpy(bool)
            fill &= blank_rows(text)
            if fill.any():
                values = text.to_numpy(dtype=object, na_value=pd.NA)
                values[fill] = parsed[name].to_numpy(dtype=object, na_value=pd.NA)[fill]
                raw[name] = pd.Series(values, index=text.index, dtype="string")
    country_norm = normalize_country_with_status(raw["country"])
    postcode_norm = normalize_postcode_with_status(raw["postcode"], country_norm.values)
    country_values = country_norm.values
    country_status = country_norm.status.copy()
    if default_country.upper() == "FR":
        french = (country_status == Status.MISSING) & (postcode_norm.status == Status.OK)
        if french.any():
            french &= _fullmatch_rows(postcode_norm.values, _FR_POSTCODE)
        country_values = country_values.where(~french, "FR")
        country_status[french] = Status.OK
    street_norm = normalize_street_with_status(raw["street"])
    city_norm = normalize_city_with_status(raw["city"])
    frame = pd.DataFrame({
        "street_norm": street_norm.values.array,
        "postcode_norm": postcode_norm.values.array,
        "city_norm": city_norm.values.array,
        "country_norm": country_values.array,
    }, index=street.index)
    status = {
        "street_norm": street_norm.status,
        "postcode_norm": postcode_norm.status,
        "city_norm": city_norm.status,
        "country_norm": country_status,
    }
    return frame, status


def normalize_address(
    street: pd.Series,
    postcode: pd.Series,
    city: pd.Series,
    country: pd.Series,
    address: pd.Series | None = None,
    *,
    default_country: str = "FR",
) -> pd.DataFrame:
    """Normalise address parts into ``street_norm``, ``postcode_norm``, ``city_norm``
    and ``country_norm`` (all aligned with the inputs).

    Parts missing from ``street``/``postcode``/``city``/``country`` are taken from the
    free-text ``address`` when given (see :func:`parse_address`). The country decides
    how postcodes are read; a missing country with a French postcode becomes ``FR``
    when ``default_country`` is FR.
    """
    return normalize_address_with_status(
        street, postcode, city, country, address, default_country=default_country
    )[0]
