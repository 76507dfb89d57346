"""Web and app events (Segment spec JSONL) and store beacon sightings, built as arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxid.synth import _lexicon as lex
from cxid.synth import _render as rd
from cxid.synth._options import SynthOptions
from cxid.synth._population import ZERO_ADID, Population
from cxid.synth._records import Records
from cxid.synth._text import cat, hex_ids, jq, objects, pick, to_str, uuid4, zpad

WINDOW_START = np.datetime64("2025-04-01T00:00:00", "ms")
WINDOW_DAYS = 330
_DAY_MS = 86_400_000

LOGIN, FORM, ANON = 0, 1, 2


def iso_ms(ts: np.ndarray) -> np.ndarray:
    """Epoch milliseconds (datetime64[ms]) as '2026-03-04T10:22:01.123Z'."""
    return cat(np.datetime_as_string(ts.astype("datetime64[ms]"), unit="ms").astype(object), "Z")


def iso_s(ts: np.ndarray) -> np.ndarray:
    return cat(np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object), "Z")


def _mobile_ips(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = objects(lex.MOBILE_IP_PREFIXES)[rng.integers(0, len(lex.MOBILE_IP_PREFIXES), n)]
    o = rng.integers(1, 255, size=(n, 2))
    return cat(prefix, ".", to_str(o[:, 0]), ".", to_str(o[:, 1]))


def _streams(pop: Population, lo: int, hi: int, rng: np.random.Generator,
             o: SynthOptions) -> dict[str, np.ndarray]:
    """One stream per browser cookie, phone app install and tablet user."""
    persons = np.arange(lo, hi)
    # browser cookies
    bp = np.repeat(persons, pop.web_cookies[lo:hi])
    nb = len(bp)
    u = rng.random(nb)
    acct = pop.account[bp] != ""
    b_mode = np.where(acct, np.where(u < 0.62, LOGIN, np.where(u < 0.70, FORM, ANON)),
                      np.where(u < 0.25, FORM, ANON))
    b_ua = rng.integers(0, len(lex.BROWSER_USER_AGENTS), nb)
    b_home = np.where(b_ua < lex.MOBILE_UA_FROM, 0.85, 0.35)
    # phone app installs
    ap = persons[pop.adid[lo:hi] != ""]
    na = len(ap)
    a_mode = np.where(pop.app_login[ap], LOGIN, ANON)
    a_dev = pick(pop.lat[ap], ZERO_ADID, pop.adid[ap])
    a_ua = rng.integers(0, len(lex.APP_USER_AGENTS), na)
    # family tablet users (one install, so one anonymousId, per tablet)
    tp = persons[pop.tablet[lo:hi] != ""]
    nt = len(tp)
    t_mode = np.where(pop.tablet_login[tp], LOGIN, ANON)
    t_ua = np.array([ord(x[0]) % 2 for x in pop.tablet[tp]], dtype=np.int64)

    app_uas = objects([a for a, _ in lex.APP_USER_AGENTS])
    app_types = objects([t for _, t in lex.APP_USER_AGENTS])
    tab_uas = objects([a for a, _ in lex.TABLET_USER_AGENTS])
    tab_types = objects([t for _, t in lex.TABLET_USER_AGENTS])
    return {
        "person": np.concatenate([bp, ap, tp]),
        "mode": np.concatenate([b_mode, a_mode, t_mode]),
        "kind": np.concatenate([np.zeros(nb, int), np.ones(na, int), np.full(nt, 2)]),
        "anon": np.concatenate([uuid4(rng, nb), uuid4(rng, na), pop.tablet_anon[tp]]),
        "device": np.concatenate([np.full(nb, "", dtype=object), a_dev, pop.tablet[tp]]),
        "os": np.concatenate([np.full(nb, "", dtype=object), app_types[a_ua], tab_types[t_ua]]),
        "ua": np.concatenate([objects(lex.BROWSER_USER_AGENTS)[b_ua], app_uas[a_ua], tab_uas[t_ua]]),
        "home": np.concatenate([b_home, np.full(na, 0.3), np.full(nt, 0.95)]),
        "n": np.concatenate([1 + rng.poisson(o.events_per_cookie, nb), 1 + rng.poisson(3.0, na),
                             1 + rng.poisson(2.0, nt)]),
    }


def _traits(pop: Population, pidx: np.ndarray, mode: np.ndarray, rng: np.random.Generator,
            o: SynthOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Identify traits JSON, with the e-mail and phone as written and the profile flag."""
    n = len(pidx)
    login = mode == LOGIN
    u = rng.random((n, 6))
    mail = ~login | (u[:, 0] < 0.92)
    email = pick(mail, rd.emails(pop, pidx, u[:, 1] < 0.15, rng, o, junk=o.junk), "")
    first, last, real, _ = rd.names(pop, pidx, rng, o, rd.NameStyle(nick=0.05, lower=0.08,
                                                                     accent_drop=0.05, junk=o.junk))
    named = np.where(login, u[:, 2] < 0.75, u[:, 2] < 0.4)
    split = ~login | (u[:, 3] < 0.8)
    ph = login & (u[:, 4] < 0.4)
    phone = pick(ph, rd.phones(pop, pidx, rng, junk=o.junk), "")
    bd = login & (u[:, 5] < 0.25)
    addr = login & (rng.random(n) < 0.2)
    parts: list[np.ndarray] = []
    e = np.full(n, "", dtype=object)
    parts.append(pick(email != "", cat(',"email":', jq(email)), e))
    fn = pick(named & split, cat(',"firstName":', jq(first)), e)
    ln = pick(named & split & login, cat(',"lastName":', jq(last)), e)
    full = pick(named & ~split, cat(',"name":', jq(cat(first, " ", last))), e)
    parts += [fn, ln, full]
    parts.append(pick(phone != "", cat(',"phone":', jq(phone)), e))
    y, m, d = rd.birth_parts(pop, pidx, rng, o)
    parts.append(pick(bd, cat(',"birthday":"', rd.iso_dates(y, m, d), '"'), e))
    if addr.any():
        a = np.flatnonzero(addr)
        pa = pidx[a]
        country = objects(["FR", "France", "FR"])[rng.integers(0, 3, len(a))]
        addr_json = e.copy()
        addr_json[a] = cat(',"address":{"street":', jq(rd.streets(pop, pa, rng)),
                           ',"city":', jq(rd.cities(pop, pa, rng)), ',"postalCode":"',
                           pop.postcode[pa], '","country":"', country, '"}')
        parts.append(addr_json)
    body = cat("{", *parts, "}")
    body = pd.Series(body, dtype=object).str.replace("{,", "{", n=1, regex=False).to_numpy(dtype=object)
    has_name = named & login & real
    profile = has_name & ((email != "") | (phone != "") | bd | addr)
    return body, email, phone, profile


def build_web(pop: Population, lo: int, hi: int, rng: np.random.Generator, o: SynthOptions,
              min_malformed: int) -> tuple[Records, np.ndarray, int]:
    """Segment events of persons ``lo:hi``: records, JSON lines (malformed ones mixed
    in), and the number of malformed lines."""
    s = _streams(pop, lo, hi, rng, o)
    n_s = len(s["person"])
    n_ev = s["n"]
    total = int(n_ev.sum())
    ev = np.repeat(np.arange(n_s), n_ev)
    starts = np.cumsum(n_ev) - n_ev
    j = np.arange(total) - starts[ev]
    k = (rng.random(n_s) * n_ev).astype(np.int64)
    mode = s["mode"][ev]
    kind = s["kind"][ev]
    person = s["person"][ev]
    is_identify = (mode != ANON) & (j == k[ev])
    has_uid = (mode == LOGIN) & (j >= k[ev])
    is_track = ~is_identify & ((kind > 0) | (rng.random(total) < 0.45))
    is_page = ~is_identify & ~is_track

    # timestamps: sessions of quick events separated by days
    t0 = rng.integers(0, (WINDOW_DAYS - 40) * _DAY_MS, n_s)
    gaps = np.where(rng.random(total) < 0.7, rng.exponential(90_000, total),
                    rng.exponential(4 * _DAY_MS, total)).astype(np.int64)
    gaps[j == 0] = 0
    cs = np.cumsum(gaps)
    ts = WINDOW_START + (t0[ev] + cs - cs[starts][ev]).astype("timedelta64[ms]")

    e = np.full(total, "", dtype=object)
    mid = uuid4(rng, total)
    typ = np.where(is_identify, "identify", np.where(is_track, "track", "page")).astype(object)
    uid = pick(has_uid, cat(',"userId":"', pop.account[person], '"'), e)

    body = e.copy()
    # track events
    ti = np.flatnonzero(is_track)
    names = objects([n for n, _ in lex.TRACK_EVENTS])
    w = np.array([x for _, x in lex.TRACK_EVENTS], dtype=float)
    ev_name = rng.choice(len(names), size=len(ti), p=w / w.sum())
    sku = cat("SKU-", zpad(rng.integers(10_000, 99_999, len(ti)), 5))
    cents = rng.integers(499, 25_000, len(ti))
    price = cat(to_str(cents // 100), ".", zpad(cents % 100, 2))
    prod = jq(objects(lex.PRODUCT_NAMES)[rng.integers(0, len(lex.PRODUCT_NAMES), len(ti))])
    query = jq(objects(lex.SEARCH_QUERIES)[rng.integers(0, len(lex.SEARCH_QUERIES), len(ti))])
    order = cat("CMD-", zpad(rng.integers(0, 10**8, len(ti)), 8))
    cats = objects(["femme", "homme", "maison", "enfant", "beaute"])[rng.integers(0, 5, len(ti))]
    props = np.select(
        [np.isin(ev_name, [0, 3]), ev_name == 1, ev_name == 2, ev_name == 4, np.isin(ev_name, [5, 6]),
         ev_name == 7],
        [cat('{"product_id":"', sku, '","name":', prod, ',"price":', price, ',"currency":"EUR"}'),
         cat('{"category":"', cats, '"}'),
         cat('{"query":', query, "}"),
         cat('{"cart_id":"', hex_ids(rng, len(ti), 6), '"}'),
         cat('{"order_id":"', order, '","total":', price, ',"currency":"EUR"}'),
         objects(['{"promotion_id":"SOLDES-HIVER","creative":"banniere_home"}'] * len(ti))],
        default=objects(["{}"] * len(ti)),
    ).astype(object)
    body[ti] = cat(',"event":', jq(names[ev_name]), ',"properties":', props)
    # page views
    pi = np.flatnonzero(is_page)
    page = rng.integers(0, len(lex.PAGES), len(pi))
    pnames = objects([p[0] for p in lex.PAGES])
    paths = objects([p[1] for p in lex.PAGES])[page]
    product = page == 4
    paths[product] = cat(paths[product], "sku-", zpad(rng.integers(10_000, 99_999, int(product.sum())), 5))
    titles = jq(objects([p[2] for p in lex.PAGES])[page])
    body[pi] = cat(',"name":', jq(pnames[page]), ',"properties":{"url":"https://www.maboutique.fr',
                   paths, '","path":"', paths, '","title":', titles, "}")
    # identify events and their traits
    ii = np.flatnonzero(is_identify)
    traits, t_email, t_phone, t_profile = _traits(pop, person[ii], mode[ii], rng, o)
    body[ii] = cat(',"traits":', traits)
    email_surface = e.copy()
    email_surface[ii] = t_email
    phone_surface = e.copy()
    phone_surface[ii] = t_phone
    profile = np.zeros(total, dtype=bool)
    profile[ii] = t_profile
    # later events of an identified stream sometimes repeat the e-mail in context.traits
    stream_email = np.full(n_s, "", dtype=object)
    stream_email[ev[ii]] = t_email
    ctx_mail = (j > k[ev]) & (stream_email[ev] != "") & (rng.random(total) < 0.2)
    email_surface[ctx_mail] = stream_email[ev][ctx_mail]
    ctx_traits = pick(ctx_mail, cat(',"traits":{"email":', jq(email_surface), "}"), e)

    # context: ip, user agent, device for app events
    home = rng.random(total) < s["home"][ev]
    ip = pop.home_ip[person].copy()
    ip[~home] = _mobile_ips(rng, int((~home).sum()))
    dev = s["device"][ev]
    app = kind > 0
    tracking = pick(dev == ZERO_ADID, "false", "true")
    device = pick(app, cat(',"device":{"advertisingId":"', dev, '","adTrackingEnabled":', tracking,
                           ',"type":"', s["os"][ev], '"}'), e)
    ctx = cat(',"context":{"ip":"', ip, '","userAgent":', jq(s["ua"][ev]), device, ctx_traits, "}")
    ts_txt = iso_ms(ts)
    lines = cat('{"messageId":"', mid, '","type":"', typ, '","anonymousId":"', s["anon"][ev], '"',
                uid, ',"timestamp":"', ts_txt, '"', body, ctx, "}")

    order_ = np.argsort(ts, kind="stable")
    lines = lines[order_]
    rec = Records(
        source="web",
        record_id=mid[order_],
        person=person[order_],
        keys={
            "cookie": s["anon"][ev][order_],
            "account": pick(has_uid, pop.account[person], "")[order_],
            "email": rd.email_keys(email_surface)[order_],
            "phone": rd.phone_keys(phone_surface)[order_],
            "device": rd.device_keys(dev)[order_],
        },
        profile=profile[order_],
    )
    # malformed lines (not records: no truth row)
    n_bad = max(min_malformed, int(rng.binomial(total, o.malformed_web_lines)) if total else 0)
    if n_bad:
        bad_ids = uuid4(rng, 2 * n_bad)
        bad_ts = ts_txt[rng.integers(0, total, n_bad)] if total else objects(["2025-06-01T10:00:00.000Z"] * n_bad)
        kinds = np.arange(n_bad) % 3
        bad = np.select(
            [kinds == 0, kinds == 1],
            [cat('{"messageId":"', bad_ids[:n_bad], '","type":"track","anonymousId":"',
                 bad_ids[n_bad:], '","timestamp":"', bad_ts, '","event":"Product Vi'),
             cat('{"messageId":"', bad_ids[:n_bad], '","type":"page","anonymousId":undefined,',
                 '"timestamp":"', bad_ts, '"}')],
            default=objects(["<html><body><h1>502 Bad Gateway</h1></body></html>"] * n_bad),
        ).astype(object)
        where = np.sort(rng.integers(0, len(lines) + 1, n_bad))
        lines = np.insert(lines, where, bad).astype(object)
    return rec, lines, n_bad


def _stores() -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """One store per distinct city of the lexicon: ids, weights, city -> store index."""
    names = list(dict.fromkeys(lex.CITY_NAMES))
    idx = {c: i for i, c in enumerate(names)}
    w = np.zeros(len(names))
    np.add.at(w, [idx[c] for c in lex.CITY_NAMES], lex.CITY_WEIGHTS)
    return cat("ST", zpad(np.arange(1, len(names) + 1), 4)), w / w.sum(), idx


BEACON_UUID = "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"
BEACON_COLUMNS = ["sighting_id", "timestamp", "store_id", "beacon_uuid", "major", "minor",
                  "device_id", "rssi", "app_user_id"]


def build_beacon(pop: Population, lo: int, hi: int, rng: np.random.Generator, o: SynthOptions,
                 first_id: int, min_bad: int) -> tuple[Records, pd.DataFrame, int]:
    """Beacon sightings of persons ``lo:hi`` (phone app and family tablet visits)."""
    persons = np.arange(lo, hi)
    vp = np.repeat(persons, pop.visits[lo:hi])
    tp = np.repeat(persons, pop.tablet_visits[lo:hi])
    v_person = np.concatenate([vp, tp])
    v_dev = np.concatenate([pick(pop.lat[vp], ZERO_ADID, pop.adid[vp]), pop.tablet[tp]])
    v_logged = np.concatenate([pop.app_login[vp], pop.tablet_login[tp]])
    v_tablet = np.concatenate([np.zeros(len(vp), bool), np.ones(len(tp), bool)])
    nv = len(v_person)
    store_ids, store_w, store_of = _stores()
    own = np.array([store_of[c] for c in pop.city[v_person]], dtype=np.int64) if nv else np.zeros(0, int)
    store = np.where(rng.random(nv) < 0.8, own, rng.choice(len(store_w), size=nv, p=store_w))
    day = rng.integers(0, WINDOW_DAYS, nv)
    start = day * _DAY_MS + rng.integers(7 * 3600_000, 18 * 3600_000, nv)
    n_s = 1 + rng.poisson(o.sightings_mean, nv)
    total = int(n_s.sum())
    sv = np.repeat(np.arange(nv), n_s)
    starts = np.cumsum(n_s) - n_s
    j = np.arange(total) - starts[sv]
    gaps = rng.exponential(45_000, total).astype(np.int64)
    gaps[j == 0] = 0
    cs = np.cumsum(gaps)
    ts = WINDOW_START + (start[sv] + cs - cs[starts][sv]).astype("timedelta64[ms]")
    person = v_person[sv]
    with_user = v_logged[sv] & ((rng.random(total) < o.beacon_user_id_share) | (v_tablet[sv] & (j == 0)))
    app_user = pick(with_user, pop.account[person], "")
    device = v_dev[sv]
    order = np.argsort(ts, kind="stable")
    ts, person, app_user, device, st = ts[order], person[order], app_user[order], device[order], store[sv][order]
    ids = cat("S", zpad(first_id + np.arange(total), 10))
    ts_txt = iso_s(ts)
    n_bad = max(min_bad, int(rng.binomial(total, o.bad_beacon_rows)) if total else 0)
    n_bad = min(n_bad, total)
    usable = np.ones(total, dtype=bool)
    if n_bad:
        bad = rng.choice(total, size=n_bad, replace=False)
        ts_txt[bad] = objects(["2025-13-41T25:61:00Z", "hier 14h30", "0000-00-00 00:00:00"])[
            np.arange(n_bad) % 3]
        usable[bad] = False
    frame = pd.DataFrame({
        "sighting_id": ids,
        "timestamp": ts_txt,
        "store_id": store_ids[st],
        "beacon_uuid": BEACON_UUID,
        "major": st + 1,
        "minor": rng.integers(1, 9, total),
        "device_id": device,
        "rssi": rng.integers(-99, -34, total),
        "app_user_id": app_user,
    }, columns=BEACON_COLUMNS)
    rec = Records(
        source="beacon", record_id=ids, person=person,
        keys={"device": rd.device_keys(device), "account": app_user},
        profile=np.zeros(total, dtype=bool), usable=usable,
    )
    return rec, frame, n_bad
