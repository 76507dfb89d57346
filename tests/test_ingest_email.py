"""E-mail reader: mbox of customer messages."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

import pandas as pd
import pytest

from cxid.errors import ConfigError
from cxid.ingest import check_source, read_source
from cxid.ingest.email import find_phone

QP_MESSAGE = (
    b"From: =?utf-8?q?=C3=89lodie_Lef=C3=A8vre?= <elodie.lefevre@orange.fr>\n"
    b"Reply-To: Elodie <elodie.perso@gmail.com>\n"
    b"To: service-client@boutique.fr\n"
    b"Date: Tue, 05 Mar 2024 14:02:11 +0100\n"
    b"Message-ID: <CAF=abc123@mail.orange.fr>\n"
    b"Subject: =?utf-8?q?Retard_de_livraison?=\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: quoted-printable\n"
    b"\n"
    b"Bonjour,\n"
    b"Ma commande n=C2=B0 4521 n'est toujours pas arriv=C3=A9e.\n"
    b"Vous pouvez me joindre au +33 6 12 34 56=\n"
    b" 78 en journ=C3=A9e.\n"
    b"\n"
    b"> Le 01/03/2024, le service client a =C3=A9crit :\n"
    b"> Appelez le 01 23 45 67 89\n"
)

_B64_BODY = base64.encodebytes(
    "Bonjour,\nje n'arrive plus à me connecter, appelez-moi au 01 45 67 89 10.\n"
    "Cordialement,\nFrançois Müller\nTél. 07.98.76.54.32\n".encode("iso-8859-1")
)
B64_MESSAGE = (
    b"From: =?iso-8859-1?q?Fran=E7ois_M=FCller?= <francois.muller@free.fr>\n"
    b"Reply-To: FRANCOIS.MULLER@free.fr\n"
    b"Date: Wed, 6 Mar 2024 09:00:00 GMT\n"
    b"Message-ID: <b64-1@free.fr>\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/alternative; boundary=XYZ\n"
    b"\n"
    b"--XYZ\n"
    b"Content-Type: text/plain; charset=iso-8859-1\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n" + _B64_BODY + b"--XYZ\n"
    b"Content-Type: text/html; charset=utf-8\n"
    b"\n"
    b"<p>html</p>\n"
    b"--XYZ--\n"
)


def _mbox(path: Path, *messages: bytes) -> Path:
    data = b"".join(
        b"From sender@example.fr Tue Mar  5 14:02:11 2024\n" + m + b"\n" for m in messages
    )
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def test_rfc2047_name_qp_phone_and_reply_to(tmp_path: Path) -> None:
    path = _mbox(tmp_path / "service-client.mbox", QP_MESSAGE, B64_MESSAGE)
    tp = read_source("email", path).touchpoints
    first, second = tp.iloc[0], tp.iloc[1]
    assert first["record_id"] == "CAF=abc123@mail.orange.fr"
    assert first["full_name"] == "Élodie Lefèvre"
    assert first["email"] == "elodie.lefevre@orange.fr"
    assert first["reply_to"] == "elodie.perso@gmail.com"
    assert first["phone"] == "+33 6 12 34 56 78"  # soft line break joined, quote ignored
    assert first["observed_at"] == pd.Timestamp("2024-03-05 13:02:11", tz="UTC")
    assert second["full_name"] == "François Müller"
    assert pd.isna(second["reply_to"])  # same address as From, other case
    assert second["phone"] == "07.98.76.54.32"  # the signature wins over the body
    assert list(tp["line"]) == [1, 2]


def test_bad_messages_are_rejected_and_the_run_goes_on(tmp_path: Path) -> None:
    no_id = b"From: Anais <anais.dupre@laposte.net>\nDate: Tue, 05 Mar 2024 10:00:00 +0100\n\nx\n"
    bad_date = QP_MESSAGE.replace(b"Tue, 05 Mar 2024 14:02:11 +0100", b"mardi dernier")
    garbage = b"\x00\xff\xfe garbage \x80\x81 not a message at all"
    path = _mbox(tmp_path / "inbox.mbox.gz", no_id, bad_date, garbage, B64_MESSAGE)
    result = read_source("email", path, source="sav")
    assert list(result.touchpoints["record_id"]) == ["b64-1@free.fr"]
    assert list(result.touchpoints["line"]) == [4]
    rej = result.rejected
    assert list(rej["line"]) == [1, 2, 3]
    assert list(rej["reason"]) == [
        "missing Message-ID", "unparseable timestamp 'mardi dernier'", "missing Message-ID"]


@pytest.mark.parametrize(
    ("body", "phone"),
    [
        ("Merci de me rappeler au 06.12.34.56.78.", "06.12.34.56.78"),
        ("Mon numéro : 0033612345678", "0033612345678"),
        ("Commande 123456789012, merci.", None),
        ("Mon fixe 01 45 67 89 10\n\n-- \nAnaïs Dupré\n06 98 76 54 32\n", "06 98 76 54 32"),
    ],
)
def test_find_phone(body: str, phone: str | None) -> None:
    assert find_phone(body) == phone


def test_mbox_takes_no_mapping(tmp_path: Path) -> None:
    path = _mbox(tmp_path / "inbox.mbox", QP_MESSAGE)
    with pytest.raises(ConfigError, match="takes no mapping"):
        check_source("email", path, mapping={"email": "From"})


TRICKY_FROM = [
    "Antoine DESCHAMPS <Antoine.Deschamps@Gmail.com>",
    "payet.lilian@free.fr",
    '"Jean D." <jd@x.fr>',
    '"Dupont, Jean" <jd@x.fr>',
    "jd@x.fr (Jean Dupont)",
    "=?utf-8?q?=C3=89milie_Lucas?= <e.lucas@gmail.com>",
    "=?utf-8?q?a?=  =?utf-8?q?b?= <x@y.fr>",
    "=?utf-8?q?=C3=89milie?= =?utf-8?q?_Lucas?= <e@x.fr>",
    "=?utf-8?q?Jean__Dupont?= <jd@x.fr>",
    "=?utf-8?q?_Jean?= <jd@x.fr>",
    "=?utf-8?b?w4ltaWxpZSBMdWNhcw==?= <e@x.fr>",
    "=?utf-8?q?=E9?= <x@y.fr>",
    "=?unknown?q?abc?= <jd@x.fr>",
    "Jean=?utf-8?q?x?= <jd@x.fr>",
    '"=?utf-8?q?=C3=89milie?=" <e@x.fr>',
    "=?windows-1252?q?=E7c_=A0?= <a@b.fr>",
    "Jean\n Dupont <jd@x.fr>",
    "Jean <jd@x.fr>, Other <o@x.fr>",
    "undisclosed-recipients:;",
]


def test_headers_read_as_the_default_email_policy_reads_them(tmp_path: Path) -> None:
    """The reader parses headers itself for speed (compat32 + fast paths); names,
    addresses, ids and dates must be what ``email.policy.default`` gives."""
    from email import policy
    from email.parser import BytesParser

    from cxid.ingest._common import fix_surrogates

    messages = [
        (f"From: {frm}\nReply-To: Other <other@x.fr>\nMessage-ID: <m{i}@x.fr>\n"
         f"Date: Wed, 6 Mar 2024 09:00:00 GMT\n\nBonjour\n").encode()
        for i, frm in enumerate(TRICKY_FROM)
    ]
    tp = read_source("email", _mbox(tmp_path / "tricky.mbox", *messages)).touchpoints
    assert len(tp) == len(messages)
    for row, data in zip(tp.itertuples(), messages, strict=True):
        parsed = BytesParser(policy=policy.default).parsebytes(data)
        addresses = parsed["From"].addresses
        name = fix_surrogates(addresses[0].display_name).strip() or None if addresses else None
        address = addresses[0].addr_spec.strip() or None if addresses else None
        assert (None if pd.isna(row.full_name) else row.full_name) == name, data
        assert (None if pd.isna(row.email) else row.email) == address, data
        assert row.record_id == str(parsed["Message-ID"]).strip("<>")
        assert row.observed_at == pd.Timestamp(parsed["Date"].datetime)


def test_body_charsets_and_mime_structures(tmp_path: Path) -> None:
    head = b"From: a@b.fr\nMessage-ID: <%d@b>\nDate: Wed, 6 Mar 2024 09:00:00 GMT\n"
    bodies = [
        b"Content-Type: text/plain; charset*=utf-8''utf-8\n\nT\xc3\xa9l 06 12 34 56 78\n",
        b"Content-Type: text/plain; charset=unknown-xyz\n\nT\xe9l 06 22 22 22 22\n",
        b"Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n"
        b"Content-Disposition: attachment\n\n06 11 11 11 11\n--XYZ\nContent-Type: text/html\n\n"
        b"<p>06 33 33 33 33</p>\n--XYZ--\n",
        b"Content-Type: application/octet-stream\n\n06 44 44 44 44\n",
    ]
    messages = [head % i + body for i, body in enumerate(bodies)]
    tp = read_source("email", _mbox(tmp_path / "mime.mbox", *messages)).touchpoints
    phones = [None if pd.isna(p) else p for p in tp["phone"]]
    assert phones == ["06 12 34 56 78", "06 22 22 22 22", "06 33 33 33 33", None]


def _random_texts(seed: int, n: int) -> list[str]:
    """Texts dense in phone-like strings: French numbers in every spelling, foreign
    ones, order numbers, dates, times, extensions, odd digits and odd neighbours."""
    import random

    rng = random.Random(seed)
    noise = "0123456789" * 6 + "     ..--//()+x\n\t:,;%$€éaZ０٣ ＋#ext\u00a0\u2013"

    def number() -> str:
        k = rng.random()
        digits = "".join(rng.choice("0123456789") for _ in range(8))
        if k < 0.3:
            sep = rng.choice(["", " ", ".", "-", "  ", "/"])
            return "0" + rng.choice("123456789") + sep + sep.join(
                digits[i:i + 2] for i in range(0, 8, 2))
        if k < 0.45:
            sep = rng.choice(["", " ", ".", "-"])
            prefix = rng.choice(["+33", "0033", "+33 ", "+ 33", "33", "+330", "+44", "+1"])
            return prefix + sep + rng.choice("123456789") + sep + sep.join(
                digits[i:i + 2] for i in range(0, 8, 2))
        if k < 0.6:
            return digits[: rng.randint(1, 8)] * rng.randint(1, 2)
        return "".join(rng.choice(noise) for _ in range(rng.randint(1, 25)))

    lead = ["", " ", "\n", "Tel ", "abc", "€", "n°", ":", "(", "+", "x", "é", "Tél. : "]
    return [
        rng.choice(["", " ", "a"]).join(rng.choice(lead) + number()
                                        for _ in range(rng.randint(1, 4)))
        + rng.choice(["", " ", ".", "abc", ":30", "$", "%"])
        for _ in range(n)
    ]


def test_first_phone_is_the_matchers_first_number() -> None:
    """The phone search skips and caches the matcher's work; it must find what
    ``PhoneNumberMatcher(text, "FR", leniency=VALID)`` finds first."""
    from cxid.ingest._phone_search import first_phone, matcher_phones

    texts = [*_random_texts(7, 3000), "", "rien", "06 12 34 56 78", "+41 79 123 45 67 / 68",
             "2024-03-05 14:02:11", "12/03/2024", "+683 4002", "00 49 30 1234567",
             # the shortest numbers dialled with 00: 8 and 9 digits
             "00431110", "Appelez le 00 43 1110.", "0043-1110", "006834002", "00 683 4002",
             # numbers opening with lead characters and punctuation
             "(+ -- (  06 12 34 56 78", "x+~~~~(~~~~0612345678", "+  +  +33 6 12 34 56 78",
             "[(+33) 6 12 34 56 78", "(((((0612345678", " (----+----33612345678"]
    found = 0
    for text in texts:
        expected = matcher_phones(text)
        assert first_phone(text) == (expected[0] if expected else None), text
        found += bool(expected)
    assert found > 500
    # past 65535 failed candidates the matcher gives up, and so must the search
    for n in (5000, 66000):
        text = "a1" * n + "a 06 12 34 56 78"
        assert first_phone(text) == (matcher_phones(text) or [None])[0]


def test_phone_search_shortcuts_match_the_matcher() -> None:
    """The French shapes decided by ``is_valid_number`` get the matcher's verdict, and
    the metadata facts behind skipping short candidates hold."""
    import random

    from phonenumbers import PhoneMetadata, PhoneNumber, is_valid_number, phonenumberutil

    from cxid.ingest._phone_search import _matcher_verdict, _valid_french, _verdict

    france = PhoneMetadata.metadata_for_region("FR")
    assert min(france.general_desc.possible_length) == 9
    assert france.international_prefix == "00"
    shortest = [len(str(PhoneMetadata.metadata_for_region(r).country_code))
                + min(n for n in PhoneMetadata.metadata_for_region(r).general_desc.possible_length
                      if n > 0)
                for r in phonenumberutil.SUPPORTED_REGIONS]
    shortest += [len(str(cc)) + min(n for n in PhoneMetadata.metadata_for_nongeo_region(cc)
                                    .general_desc.possible_length if n > 0)
                 for cc in phonenumberutil.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    assert min(shortest) >= 6  # so "00" + country code + number has at least 8 digits

    rng = random.Random(3)
    for head in range(1000, 10000):  # France's patterns go by leading digits
        for _ in range(2):
            national = str(head) + "".join(rng.choice("0123456789") for _ in range(5))
            assert _valid_french(national) == is_valid_number(
                PhoneNumber(country_code=33, national_number=int(national))), national
    for head in range(100, 1000, 7):
        national = str(head) + "".join(rng.choice("0123456789") for _ in range(6))
        for sep in ("", " ", ".", "-"):
            pairs = sep.join(national[i:i + 2] for i in range(1, 9, 2))
            for candidate in (f"0{national[0]}{sep}{pairs}", f"+33{sep}{national[0]}{sep}{pairs}",
                              f"0033{national}"):
                for before, after in (("", ""), (" ", "\n"), (":", ". a")):
                    assert (_verdict(before, candidate, after)
                            == _matcher_verdict(before, candidate, after)), candidate


def test_simple_messages_are_read_as_the_parser_reads_them() -> None:
    """Messages with a plain header block skip the email parser: their headers, body
    and body text must be what the compat32 parser and ``_body_text`` give."""
    import random

    from cxid.ingest import email as reader

    rng = random.Random(11)
    names = ["From", "Date", "Message-ID", "Content-Type", "content-type", "X-A[b]",
             "Content-Transfer-Encoding", "CONTENT-TRANSFER-ENCODING", "Content-Disposition"]
    values = ["a@b.fr", "", " ", "text/plain", "text/html", "TEXT/PLAIN; CHARSET=UTF-8",
              'text/plain; charset="utf-8"', "text/plain;charset=iso-8859-1 ",
              "text/plain; charset=unknown", "text/plain; charset=idna",
              "text/plain; format=flowed",
              'text/plain; charset="utf-8', "text/plain; charset*=utf-8''utf-8", "text/calendar",
              "multipart/alternative; boundary=X", "text", "quoted-printable", "base64", "Base64 ",
              " 8bit", "x-uuencode", "attachment", "caf\udce9", "a:b"]
    odd = [" continued", "\tcont", " ", ":no name", "From x y", "no colon", "Name : x", "",
           "X:\r", "X: a\x0bb"]
    bodies = [b"", b"x", b"caf=C3=A9 =\n06 12=\n 34 56 78\n", b"Y2Fmw6kgMDYgMTIgMzQgNTYgNzg=\n",
              b"Y2Fmw6k\n=\n", b"\xe9t\xe9\n", b"<p>Tel&nbsp;06 12 34 56 78</p><br/>x\n",
              b"a\r\nb\rc\n", b"\n\nx", b"begin 644 a\n`\nend\n", b"=E9t=E9 =\n"]
    simple = decoded = 0
    for _ in range(4000):
        head = "\n".join(
            f"{rng.choice(names)}:{rng.choice(['', ' ', chr(9)])}{rng.choice(values)}"
            if rng.random() < 0.8 else rng.choice(odd) for _ in range(rng.randint(0, 5)))
        data = (head.encode("utf-8", "surrogateescape")
                + rng.choice([b"\n\n", b"\n", b"\n\r\n"]) + rng.choice(bodies))
        message = reader._PARSER.parsebytes(data)
        split = reader._split_simple(data)
        if split is None:
            continue
        simple += 1
        headers, body = split
        assert headers == reader._first_headers(message), data
        text = reader._simple_body_text(headers, body)
        if text is not None:
            decoded += 1
            assert not message.is_multipart(), data
            assert text == reader._body_text(message), data
    assert simple > 400 and decoded > 200


def test_rfc_dates_are_converted_as_one_by_one() -> None:
    """Dates in the RFC 5322 layout are converted all at once: same instants as
    :func:`_date` gives one by one, NaT for impossible days, mixed with the others."""
    import random

    from cxid.ingest import email as reader

    rng = random.Random(5)
    months = list(reader._MONTHS)
    raws = [f"{rng.choice(['', 'Sun, '])}{rng.randint(0, 32):0{rng.randint(1, 2)}d} "
            f"{rng.choice(months)} {rng.randint(1900, 2199)} {rng.randint(0, 23):02d}:"
            f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} {rng.choice('+-')}"
            f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}" for _ in range(3000)]
    raws += ["Thu, 29 Feb 2024 23:59:59 -0000", "Thu, 29 Feb 2023 10:00:00 +0100",
             "1 Jan 1900 00:00:00 +2359", "31 Dec 2199 23:59:59 -2359"]
    groups = [reader._RFC_DATE.fullmatch(raw).groups() for raw in raws]
    one_by_one = [reader._date(raw)[1] for raw in raws]
    expected = pd.to_datetime(pd.Series(one_by_one, dtype=object), utc=True)
    pd.testing.assert_series_equal(reader._instants(groups), expected)
    assert expected.isna().sum() > 100
    mixed = [*groups[:5], one_by_one[0], None, *groups[5:9]]
    pd.testing.assert_series_equal(
        reader._instants(mixed),
        pd.to_datetime(pd.Series([*one_by_one[:5], one_by_one[0], None, *one_by_one[5:9]],
                                 dtype=object), utc=True))


def test_reply_header_words_are_found_in_lower_case() -> None:
    """The reply-header shortcut looks for the header's words in the lower-cased body:
    every character ``re.IGNORECASE`` matches to one of their letters must lower-case
    to it, save the few listed as odd."""
    import re
    import sys

    from cxid.ingest import email as reader

    letters = sorted({c for word in reader._REPLY_WORDS for c in word})
    any_letter = re.compile("[" + "".join(re.escape(c) for c in letters) + "]", re.IGNORECASE)
    matched = [chr(x) for x in range(sys.maxunicode + 1) if any_letter.fullmatch(chr(x))]
    for char in matched:
        for letter in letters:
            if re.fullmatch(re.escape(letter), char, re.IGNORECASE):
                assert char.lower() == letter or char in reader._ODD_CASES, (char, letter)
    assert reader.find_phone("Tel 06 12 34 56 78\nLe 5 mars, X a \u00c9CRIT :\n0611111111") == (
        "06 12 34 56 78")
    for header in ("Le 5 mars, X a \u00e9cr\u0130t :", "On Monday, X wrote :",
                   "Le 5 mars, X a \u00e9cr\u0131t :", "-- Mes\u017fage d'origine --"):
        assert reader.find_phone(f"{header}\n06 11 11 11 11") is None, header


def test_phone_search_without_shortcuts_uses_the_matcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a phonenumbers whose internals differ, every text goes to the matcher."""
    from cxid.ingest import _phone_search

    monkeypatch.setattr(_phone_search, "_SHORTCUTS", False)
    for text in _random_texts(8, 200):
        expected = _phone_search.matcher_phones(text)
        assert _phone_search.first_phone(text) == (expected[0] if expected else None)


@pytest.mark.parametrize("date", [b"Mon, 01 Jan 1600 00:00:00 +0000",
                                  b"Mon, 01 Jan 1600 00:00:00 GMT+0100 (x)",
                                  b"Fri, 01 Jan 2300 00:00:00 +0000"])
def test_a_date_beyond_pandas_range_rejects_its_message_only(tmp_path: Path,
                                                            date: bytes) -> None:
    odd = QP_MESSAGE.replace(b"Tue, 05 Mar 2024 14:02:11 +0100", date).replace(
        b"CAF=abc123", b"odd-date")
    result = read_source("email", _mbox(tmp_path / "m.mbox", QP_MESSAGE, odd))
    assert result.touchpoints["record_id"].tolist() == ["CAF=abc123@mail.orange.fr"]
    assert result.touchpoints["observed_at"].dt.year.tolist() == [2024]
    assert result.rejected["reason"].str.startswith("unparseable timestamp").tolist() == [True]
