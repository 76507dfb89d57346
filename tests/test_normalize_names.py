"""Name normalisation and full-name splitting (French conventions, Twitter names)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxid.normalize import names as names_module
from cxid.normalize.names import (
    Status,
    fold_ascii,
    normalize_name,
    normalize_name_with_status,
    split_full_name,
    split_full_name_with_status,
)


def _na(value: object) -> object:
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Marie", "marie"),
        ("  MARIE  ", "marie"),
        ("Jean-Pierre", "jean pierre"),
        ("D'Artagnan", "d artagnan"),
        ("D’Artagnan", "d artagnan"),
        ("Élodie", "elodie"),
        ("François-Xavier", "francois xavier"),
        ("de la Fontaine", "de la fontaine"),
        ("Mme Marie-Hélène", "marie helene"),
        ("M. Dupont", "dupont"),
        ("Mr Smith", "smith"),
        ("Mlle Léa", "lea"),
        ("Dr. House", "house"),
        ("Me Dupond", "dupond"),
        ("Monsieur Jean", "jean"),
        ("Madame  Martin", "martin"),
        ("Mademoiselle Chloé", "chloe"),
        ("Müller", "muller"),
        ("Łukasz", "lukasz"),
        ("marie_dupont", "marie dupont"),
        ("Marie 🌸", "marie"),
        ("Marc", "marc"),  # starts like a title but is not one
        ("Medhi", "medhi"),
        ("Drieu", "drieu"),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(pd.Series([raw], dtype="string")).iloc[0] == expected


@pytest.mark.parametrize(
    "raw",
    ["N/A", "n/a", "NA", "null", "NONE", "test", "xxx", "-", ".", "?", "inconnu", "Client",
     "anonyme", "12345", "Mme", "M.", "🌸"],
)
def test_junk_names(raw: str) -> None:
    result = normalize_name_with_status(pd.Series([raw], dtype="string"))
    assert pd.isna(result.values.iloc[0])
    assert result.status[0] == Status.JUNK


@pytest.mark.parametrize(
    ("raw", "first", "last"),
    [
        ("DUPONT Marie", "marie", "dupont"),
        ("DUPONT Jean-Pierre", "jean pierre", "dupont"),
        ("Jean-Pierre DUPONT", "jean pierre", "dupont"),
        ("Marie DE LA FONTAINE", "marie", "de la fontaine"),
        ("Dupont, Marie", "marie", "dupont"),
        ("de la Fontaine, Marie", "marie", "de la fontaine"),
        ("Marie Dupont", "marie", "dupont"),
        ("Jean Pierre Dupont", "jean pierre", "dupont"),
        ("Marie de la Fontaine", "marie", "de la fontaine"),
        ("Ludwig van Beethoven", "ludwig", "van beethoven"),
        ("Marie Le Pen", "marie", "le pen"),
        ("Marie D. 🌸", "marie", "d"),
        ("marie_dupont", "marie", "dupont"),
        ("Marie", "marie", None),
        ("✨ Chloé ✨", "chloe", None),
        ("Mme Dupont", None, "dupont"),
        ("M. Jean Dupont", "jean", "dupont"),
        ("MARIE DUPONT", "marie", "dupont"),
        ("Élodie Lefèvre", "elodie", "lefevre"),
    ],
)
def test_split_full_name(raw: str, first: str | None, last: str | None) -> None:
    out = split_full_name(pd.Series([raw], dtype="string"))
    assert (_na(out["first_name_norm"].iloc[0]), _na(out["last_name_norm"].iloc[0])) == (
        first, last)


def test_split_junk_and_missing() -> None:
    frame, status = split_full_name_with_status(
        pd.Series(["N/A", "test test", None, " ", "Marie Dupont"], dtype="string"))
    assert list(status) == [Status.JUNK, Status.JUNK, Status.MISSING, Status.MISSING, Status.OK]
    assert frame.iloc[:4].isna().all().all()


def test_fold_ascii_calls_unidecode_once_per_distinct_non_ascii(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    real = names_module.unidecode

    def counting(text: str) -> str:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(names_module, "unidecode", counting)
    values = ["Élodie", "Marie", "Hélène", "Chloé", "Luc"]
    rows = pd.Series(values, dtype="string").take(
        np.random.default_rng(1).integers(0, len(values), 200_000))
    out = fold_ascii(rows)
    assert sorted(seen) == ["Chloé", "Hélène", "Élodie"]
    assert set(out) == {"Elodie", "Marie", "Helene", "Chloe", "Luc"}


def test_normalize_name_200k_rows_runs_per_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    real = names_module._name_kernel

    def spy(u: pd.Series):
        sizes.append(len(u))
        return real(u)

    monkeypatch.setattr(names_module, "_name_kernel", spy)
    values = [f"Jean-Pierre{i}" for i in range(1000)] + ["N/A"]
    rows = pd.Series(values, dtype="string").take(
        np.random.default_rng(2).integers(0, len(values), 200_000)).reset_index(drop=True)
    result = normalize_name_with_status(rows)
    assert sizes == [rows.nunique()]
    assert (result.status == Status.JUNK).sum() == (rows == "N/A").sum()
    assert result.values.iloc[int(np.flatnonzero(rows != "N/A")[0])].startswith("jean pierre")


def test_fold_ascii_leaves_its_input_unchanged() -> None:
    s = pd.Series(["Hélène", "abc", None], dtype=pd.StringDtype("python"))
    assert fold_ascii(s).tolist()[:2] == ["Helene", "abc"]
    assert s.tolist()[:2] == ["Hélène", "abc"]
