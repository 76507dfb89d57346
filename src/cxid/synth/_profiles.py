"""Sources that carry a person's profile: CRM, ESP audience, Twitter, support e-mails."""

from __future__ import annotations

import json
import mailbox
import time
from datetime import datetime, timedelta, timezone
from email.charset import QP, Charset
from email.header import Header
from email.utils import format_datetime, formataddr

import numpy as np
import pandas as pd

from cxid.synth import _lexicon as lex
from cxid.synth import _render as rd
from cxid.synth._options import SynthOptions
from cxid.synth._population import Population
from cxid.synth._records import Records
from cxid.synth._text import ascii_slug, cat, fold, hex_ids, objects, pick, to_str, zpad
from cxid.synth._web import WINDOW_DAYS, WINDOW_START

CRM_COLUMNS = ["customer_id", "email", "phone", "first_name", "last_name", "birth_date",
               "street", "postcode", "city", "country", "loyalty_id", "created_at"]
ESP_COLUMNS = ["Email Address", "First Name", "Last Name", "Address", "Phone Number",
               "Birthday", "OPTIN_TIME"]

_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


def _random_times(rng: np.random.Generator, n: int, start: str, end: str) -> np.ndarray:
    lo = np.datetime64(start, "s")
    hi = np.datetime64(end, "s")
    return lo + rng.integers(0, int((hi - lo) / np.timedelta64(1, "s")), n).astype("timedelta64[s]")


def _sql_times(ts: np.ndarray) -> np.ndarray:
    """'2025-05-01 10:22:33'."""
    return np.char.replace(np.datetime_as_string(ts, unit="s"), "T", " ").astype(object)


def build_crm(pop: Population, lo: int, hi: int, rng: np.random.Generator, o: SynthOptions,
              french: bool) -> tuple[Records, pd.DataFrame]:
    """One CRM row per account holder of persons ``lo:hi``, sorted by customer id."""
    p = np.arange(lo, hi)[pop.in_crm[lo:hi]]
    p = p[np.argsort(pop.account[p], kind="stable")]
    n = len(p)
    first, last, real, _ = rd.names(pop, p, rng, o, rd.NameStyle(
        nick=0.02, upper_last=0.4, lower=0.02, accent_drop=o.accent_drop, swap=o.swap_names,
        junk=o.junk))
    u = rng.random((n, 6))
    email = rd.emails(pop, p, u[:, 0] < 0.12, rng, o, junk=o.junk)
    phone = pick(u[:, 1] < 0.9, rd.phones(pop, p, rng, junk=o.junk), "")
    y, m, d = rd.birth_parts(pop, p, rng, o)
    birth = pick(u[:, 2] < 0.85, rd.french_dates(y, m, d) if french else rd.iso_dates(y, m, d), "")
    has_addr = u[:, 3] < 0.95
    street = pick(has_addr, rd.streets(pop, p, rng), "")
    postcode = pick(has_addr, pop.postcode[p], "")
    city = pick(has_addr, rd.cities(pop, p, rng), "")
    country = pick(has_addr, objects(["FR", "France", "FRANCE", "FR", "fr"])[rng.integers(0, 5, n)], "")
    loyalty = pop.loyalty[p].copy()
    spaced = (loyalty != "") & (u[:, 4] < 0.2)
    if spaced.any():
        lv = loyalty[spaced]
        loyalty[spaced] = objects([f"{v[:4]} {v[4:8]} {v[8:]}" for v in lv])
    created = _random_times(rng, n, "2012-01-01T00:00:00", "2026-03-01T00:00:00")
    if french:
        day = created.astype("datetime64[D]")
        ymd = np.datetime_as_string(day).astype(object)
        hm = np.datetime_as_string(created, unit="m").astype(object)
        created_txt = objects([f"{s[8:10]}/{s[5:7]}/{s[:4]} {t[11:16]}" for s, t in zip(ymd, hm, strict=True)])
    else:
        created_txt = _sql_times(created)
    frame = pd.DataFrame({
        "customer_id": pop.account[p], "email": email, "phone": phone, "first_name": first,
        "last_name": last, "birth_date": birth, "street": street, "postcode": postcode,
        "city": city, "country": country, "loyalty_id": loyalty, "created_at": created_txt,
    }, columns=CRM_COLUMNS)
    rec = Records(
        source="crm", record_id=pop.account[p].copy(), person=p,
        keys={"account": pop.account[p], "email": rd.email_keys(email),
              "phone": rd.phone_keys(phone), "loyalty": pop.loyalty[p]},
        profile=real,
    )
    return rec, frame


def build_esp(pop: Population, lo: int, hi: int, rng: np.random.Generator, o: SynthOptions,
              first_row: int, min_junk: int) -> tuple[Records, pd.DataFrame]:
    """Mailchimp audience rows of persons ``lo:hi`` (shuffled); record ids are 1-based
    data-row numbers starting at ``first_row``."""
    persons = np.arange(lo, hi)
    p = np.repeat(persons, pop.esp_rows[lo:hi])
    starts = np.cumsum(pop.esp_rows[lo:hi]) - pop.esp_rows[lo:hi]
    row_in = np.arange(len(p)) - np.repeat(starts, pop.esp_rows[lo:hi])
    n = len(p)
    u = rng.random((n, 6))
    second = (row_in == 1) | ((pop.esp_rows[p] == 1) & (u[:, 0] < 0.15))
    email = rd.emails(pop, p, second, rng, o)
    first, last, real, _ = rd.names(pop, p, rng, o, rd.NameStyle(
        nick=0.15, lower=0.05, accent_drop=min(1.0, o.accent_drop * 1.5), swap=o.swap_names))
    named = u[:, 1] < 0.85
    first = pick(named, first, "")
    last = pick(named & (u[:, 2] < 0.95), last, "")
    has_addr = u[:, 3] < 0.45
    sep = objects([", ", " ", " - ", ", "])[rng.integers(0, 4, n)]
    address = pick(has_addr, cat(rd.streets(pop, p, rng), sep, pop.postcode[p], " ",
                                 rd.cities(pop, p, rng)), "")
    phone = pick(u[:, 4] < 0.25, rd.phones(pop, p, rng), "")
    _, m, d = rd.birth_parts(pop, p, rng, o)
    birthday = pick(u[:, 5] < 0.25, cat(zpad(m, 2), "/", zpad(d, 2)), "")
    optin = _sql_times(_random_times(rng, n, "2018-01-01T00:00:00", "2026-03-01T00:00:00"))
    junk = rng.random(n) < o.junk
    if n and junk.sum() < min_junk:
        junk[rng.choice(n, size=min(n, min_junk), replace=False)] = True
    if junk.any():
        k = int(junk.sum())
        email[junk] = objects(lex.JUNK_EMAILS)[rng.integers(0, 2, k)]
        first[junk] = objects(lex.JUNK_NAMES)[rng.integers(0, len(lex.JUNK_NAMES), k)]
        last[junk] = pick(rng.random(k) < 0.5, "N/A", "")
        real = real & ~junk
    order = rng.permutation(n)
    frame = pd.DataFrame({
        "Email Address": email, "First Name": first, "Last Name": last, "Address": address,
        "Phone Number": phone, "Birthday": birthday, "OPTIN_TIME": optin,
    }, columns=ESP_COLUMNS).iloc[order].reset_index(drop=True)
    profile = real & named & (last != "")
    rec = Records(
        source="esp", record_id=to_str(first_row + np.arange(n)), person=p[order],
        keys={"email": rd.email_keys(email)[order], "phone": rd.phone_keys(phone)[order]},
        profile=profile[order],
    )
    return rec, frame


_EMOJIS = ("🌻", "☀️", "🐱", "⚽", "🌊", "✨", "💙", "🇫🇷")


def build_twitter(pop: Population, lo: int, hi: int, rng: np.random.Generator, o: SynthOptions,
                  used_handles: set[str], used_ids: set[str]) -> tuple[Records, list[str]]:
    """Twitter API v2 user objects of persons ``lo:hi`` with an account."""
    p = np.arange(lo, hi)[pop.twitter[lo:hi]]
    n = len(p)
    first, last, _, _ = rd.names(pop, p, rng, o, rd.NameStyle(
        nick=o.nickname_informal, accent_drop=0.1, lower=0.05, junk=0.0))
    unrelated = rng.random(n) < o.twitter_unrelated
    disp_style = rng.choice(5, size=n, p=[0.5, 0.15, 0.1, 0.15, 0.1])
    handle_style = rng.choice(6, size=n, p=[0.25, 0.2, 0.15, 0.15, 0.1, 0.15])
    loc_own = rng.random(n) < 0.55
    created = _random_times(rng, n, "2009-03-01T00:00:00", "2025-12-31T00:00:00")
    rand = rng.random((n, 4))
    lines: list[str] = []
    ids = np.empty(n, dtype=object)
    profile = np.zeros(n, dtype=bool)
    for i in range(n):
        f, last_name = str(first[i]), str(last[i])
        fs = ascii_slug(f).replace("-", "")
        ls = ascii_slug(last_name).replace("-", "")
        yy = f"{pop.birth_y[p[i]] % 100:02d}"
        if unrelated[i]:
            handle = lex.TWITTER_PSEUDO_WORDS[int(rand[i, 0] * len(lex.TWITTER_PSEUDO_WORDS))]
            handle += str(int(rand[i, 1] * 99))
            name = lex.TWITTER_PSEUDO_NAMES[int(rand[i, 2] * len(lex.TWITTER_PSEUDO_NAMES))]
            has_last = False
        else:
            hs = int(handle_style[i])
            handle = (f"{fs}{ls}", f"{fs}_{ls}", f"{fs[:1]}{ls}", f"{fs}{ls}{yy}", f"{ls}{fs[:1]}",
                      f"{fs}{yy}")[hs]
            ds = int(disp_style[i])
            emoji = _EMOJIS[int(rand[i, 2] * len(_EMOJIS))]
            name = (f"{f} {last_name}", f"{f} {last_name} {emoji}", f"{f} {last_name}".lower(),
                    f"{f} {last_name[:1]}.", f)[ds]
            has_last = ds <= 2 or hs <= 4
        handle = "".join(c for c in handle if c.isalnum() or c == "_")[:15] or "user"
        base = handle
        k = 1
        while handle.lower() in used_handles:
            suffix = str(k)
            handle = base[:15 - len(suffix)] + suffix
            k += 1
        used_handles.add(handle.lower())
        profile[i] = has_last
        ts = created[i]
        ms = int((ts - _EPOCH) / np.timedelta64(1, "ms"))
        if ms > 1_288_834_974_657:
            tid = ((ms - 1_288_834_974_657) << 22) | int(rng.integers(0, 1 << 22))
        else:
            tid = int(rng.integers(10_000_000, 200_000_000))
        while str(tid) in used_ids:
            tid += 1
        ids[i] = str(tid)
        used_ids.add(ids[i])
        if loc_own[i]:
            city = str(pop.city[p[i]])
            location = (city, f"{city}, France", fold(city), f"{city} ❤️")[int(rand[i, 3] * 4)]
        else:
            location = lex.TWITTER_LOCATIONS_FREE[int(rand[i, 3] * len(lex.TWITTER_LOCATIONS_FREE))]
        bio = lex.TWITTER_BIOS[int(rand[i, 1] * len(lex.TWITTER_BIOS))]
        lines.append(json.dumps({
            "id": ids[i], "username": handle, "name": name, "location": location,
            "description": bio,
            "created_at": np.datetime_as_string(ts, unit="ms") + "Z",
        }, ensure_ascii=False))
    rec = Records(source="twitter", record_id=ids, person=p,
                  keys={"twitter": ids.copy()}, profile=profile)
    return rec, lines


_MAIL_HOSTS = {"gmail.com": "mail.gmail.com", "hotmail.fr": "PAXP193MB1234.EURP193.PROD.OUTLOOK.COM",
               "hotmail.com": "DB9PR02MB7001.eurprd02.prod.outlook.com",
               "outlook.fr": "AM0PR01MB5555.eurprd01.prod.exchangelabs.com",
               "yahoo.fr": "mail.yahoo.com", "icloud.com": "icloud.com"}


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _header(text: str) -> str:
    """RFC 2047-encoded header value when ``text`` is not plain ASCII."""
    return text if text.isascii() else Header(text, "utf-8").encode()


def _paris_offset(ts: np.datetime64) -> timezone:
    month = int(str(ts)[5:7])
    return timezone(timedelta(hours=2 if 4 <= month <= 10 else 1))


def build_support(pop: Population, lo: int, hi: int, rng: np.random.Generator,
                  o: SynthOptions) -> tuple[Records, list[mailbox.mboxMessage]]:
    """Customer-service e-mails of persons ``lo:hi`` as mbox messages."""
    persons = np.arange(lo, hi)
    p = np.repeat(persons, pop.support_msgs[lo:hi])
    n = len(p)
    u = rng.random((n, 8))
    use2 = u[:, 0] < 0.3
    sender = rd.emails(pop, p, use2, rng, o)
    other = rd.emails(pop, p, ~use2, rng, o, typo=0.0)
    reply = (pop.email2_local[p] != "") & (u[:, 1] < 0.15)
    first, last, real, nicked = rd.names(pop, p, rng, o, rd.NameStyle(
        nick=o.nickname_informal, accent_drop=0.08, lower=0.03, upper_last=0.1))
    style = rng.choice(6, size=n, p=[0.45, 0.1, 0.2, 0.1, 0.05, 0.1])
    phone = rd.phones(pop, p, rng)
    ts = WINDOW_START.astype("datetime64[s]") + rng.integers(0, WINDOW_DAYS * 86_400, n).astype("timedelta64[s]")
    mid_a = hex_ids(rng, n, 10)
    mid_b = hex_ids(rng, n, 3)
    orders = cat("CMD-", zpad(rng.integers(0, 10**8, n), 8))
    messages: list[mailbox.mboxMessage] = []
    record_ids = np.empty(n, dtype=object)
    profile = np.zeros(n, dtype=bool)
    signed_phone = np.full(n, "", dtype=object)
    for i in range(n):
        f, lname = str(first[i]), str(last[i])
        s = int(style[i])
        display = (f"{f} {lname}", f"{lname.upper()} {f}", "", f, f"{f} {lname}".lower(),
                   f"{f} {lname[:1]}.")[s]
        profile[i] = bool(real[i]) and s in (0, 1, 4)
        addr = str(sender[i])
        local, _, domain = addr.rpartition("@")
        msg = mailbox.mboxMessage()
        msg["From"] = formataddr((display, addr), charset="utf-8") if display else addr
        msg["To"] = "Service client MaBoutique <service.client@maboutique.fr>"
        if reply[i]:
            msg["Reply-To"] = str(other[i])
        dt = datetime.fromtimestamp(int((ts[i] - _EPOCH) / np.timedelta64(1, "s")), tz=timezone.utc)
        msg["Date"] = format_datetime(dt.astimezone(_paris_offset(ts[i])))
        host = _MAIL_HOSTS.get(domain.lower(), domain.lower() or "localhost")
        record_ids[i] = f"{mid_a[i]}.{mid_b[i]}@{host}"
        msg["Message-ID"] = f"<{record_ids[i]}>"
        topic = lex.SUPPORT_TOPICS[int(u[i, 2] * len(lex.SUPPORT_TOPICS))]
        order = str(orders[i])
        day = f"{int(u[i, 3] * 27) + 1} {('mars', 'avril', 'mai', 'juin')[int(u[i, 4] * 4)]}"
        msg["Subject"] = _header(topic[0].format(order=order))
        sign_name = f if nicked[i] or u[i, 5] < 0.3 else f"{f} {lname}"
        sig = [sign_name]
        if u[i, 6] < 0.6 and phone[i]:
            signed_phone[i] = phone[i]
            sig.append(("Tél. : {}", "{}", "Portable : {}", "Tel {}")[int(u[i, 7] * 4)].format(phone[i]))
        if u[i, 6] < 0.15:
            sig += [str(pop.street[p[i]]), f"{pop.postcode[p[i]]} {pop.city[p[i]]}"]
        greeting = lex.SUPPORT_GREETINGS[int(u[i, 3] * len(lex.SUPPORT_GREETINGS))]
        closing = lex.SUPPORT_CLOSINGS[int(u[i, 4] * len(lex.SUPPORT_CLOSINGS))]
        body = f"{greeting}\n\n{topic[1].format(order=order, day=day)}\n\n{closing}\n\n" + "\n".join(sig)
        if u[i, 7] < 0.2:
            body += "\n\nEnvoyé de mon iPhone"
        msg.set_payload(body + "\n", _UTF8_QP)
        msg.set_from(local + "@" + domain if local else "MAILER-DAEMON",
                     time.gmtime(int((ts[i] - _EPOCH) / np.timedelta64(1, "s"))))
        messages.append(msg)
    rec = Records(source="email", record_id=record_ids, person=p,
                  keys={"email": rd.email_keys(sender), "reply": pick(reply, rd.email_keys(other), ""),
                        "phone": rd.phone_keys(signed_phone)},
                  profile=profile)
    return rec, messages
