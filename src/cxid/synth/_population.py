"""The hidden truth: persons, households and every identifier they own.

All attributes are arrays indexed by person (persons of one household are
contiguous). Sources render these canonical values with their own formats and
corruptions; nothing here is written to disk except the person ids in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cxid.synth import _lexicon as lex
from cxid.synth._options import SynthOptions
from cxid.synth._text import ascii_slug, cat, map_unique, objects, to_str, uuid4, zpad

ZERO_ADID = "00000000-0000-0000-0000-000000000000"

_HOUSEHOLD_SIZES = np.array([1, 2, 3, 4, 5])
_HOUSEHOLD_P = np.array([0.45, 0.27, 0.14, 0.10, 0.04])

# e-mail local-part patterns and their weights
_EMAIL_PATTERNS = (
    ("{f}.{l}", 30), ("{f}{l}", 10), ("{f0}.{l}", 10), ("{f0}{l}", 8), ("{l}.{f}", 8),
    ("{f}.{l}{yy}", 10), ("{l}{f0}", 4), ("{f}_{l}", 5), ("{f}{yy}", 5), ("{f}.{l}{nn}", 5),
    ("{l}.{f}{yyyy}", 5),
)
_FAMILY_PATTERNS = ("famille.{l}", "{l}.famille", "les{l}", "fam.{l}", "maison.{l}")


@dataclass
class Population:
    """Canonical attributes of every person (arrays of length ``n``)."""

    n: int
    person_id: np.ndarray
    household: np.ndarray
    role: np.ndarray
    gender: np.ndarray
    first: np.ndarray
    last: np.ndarray
    nick: np.ndarray
    birth_y: np.ndarray
    birth_m: np.ndarray
    birth_d: np.ndarray
    street_no: np.ndarray
    street_type: np.ndarray
    street_name: np.ndarray
    street: np.ndarray
    postcode: np.ndarray
    city: np.ndarray
    email_local: np.ndarray
    email_domain: np.ndarray
    email2_local: np.ndarray
    email2_domain: np.ndarray
    family_email: np.ndarray
    phone: np.ndarray
    account: np.ndarray
    loyalty: np.ndarray
    adid: np.ndarray
    lat: np.ndarray
    app_login: np.ndarray
    tablet: np.ndarray
    tablet_anon: np.ndarray
    tablet_login: np.ndarray
    home_ip: np.ndarray
    web_cookies: np.ndarray
    visits: np.ndarray
    tablet_visits: np.ndarray
    twitter: np.ndarray
    support_msgs: np.ndarray
    esp_rows: np.ndarray
    in_crm: np.ndarray
    namesake_of: np.ndarray
    shared_tablets_two_accounts: int

    def household_bounds(self, target: int) -> list[tuple[int, int]]:
        """Person ranges of about ``target`` persons that never split a household."""
        bounds = []
        lo = 0
        while lo < self.n:
            hi = min(self.n, lo + target)
            while hi < self.n and self.household[hi] == self.household[hi - 1]:
                hi += 1
            bounds.append((lo, hi))
            lo = hi
        return bounds


def unique_ints(rng: np.random.Generator, low: int, high: int, size: int) -> np.ndarray:
    """``size`` distinct random integers in ``[low, high)``."""
    vals = rng.integers(low, high, size=size, dtype=np.int64)
    while True:
        _, first = np.unique(vals, return_index=True)
        dup = np.ones(size, dtype=bool)
        dup[first] = False
        if not dup.any():
            return vals
        vals[dup] = rng.integers(low, high, size=int(dup.sum()), dtype=np.int64)


def _draw(rng: np.random.Generator, names: tuple[str, ...], p: np.ndarray, size: int) -> np.ndarray:
    return objects(names)[rng.choice(len(names), size=size, p=p)]


def _nicknames_of() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for nick, fulls in lex.NICKNAMES.items():
        for full in fulls:
            out.setdefault(full, []).append(nick)
    return out


def _email_locals(rng: np.random.Generator, first: np.ndarray, last: np.ndarray,
                  year: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    f = map_unique(first, ascii_slug)
    f0 = map_unique(f, lambda s: s[:1])
    f = map_unique(f, lambda s: s.replace("-", "") if len(s) > 12 else s)
    lname = map_unique(last, lambda s: ascii_slug(s).replace("-", ""))
    out = np.empty(len(first), dtype=object)
    for k, (template, _) in enumerate(_EMAIL_PATTERNS):
        m = pattern == k
        if not m.any():
            continue
        y = year[m]
        parts = {
            "f": f[m], "l": lname[m], "f0": f0[m], "yy": zpad(y % 100, 2), "yyyy": to_str(y),
            "nn": to_str(rng.integers(1, 100, size=int(m.sum()))),
        }
        pieces: list[np.ndarray | str] = []
        rest = template
        while rest:
            if rest.startswith("{"):
                key, _, rest = rest[1:].partition("}")
                pieces.append(parts[key])
            else:
                j = rest.find("{")
                j = len(rest) if j < 0 else j
                pieces.append(rest[:j])
                rest = rest[j:]
        out[m] = cat(np.full(int(m.sum()), "", dtype=object), *pieces)
    return out


def build_population(n: int, rng: np.random.Generator, o: SynthOptions) -> Population:
    """Draw ``n`` persons with their households, names, contacts and identifiers."""
    if n < 1:
        raise ValueError("persons must be >= 1")
    # households
    sizes = rng.choice(_HOUSEHOLD_SIZES, size=n, p=_HOUSEHOLD_P)
    h_count = int(np.searchsorted(np.cumsum(sizes), n) + 1)
    sizes = sizes[:h_count].copy()
    sizes[-1] -= int(sizes.sum() - n)
    household = np.repeat(np.arange(h_count), sizes)
    starts = np.cumsum(sizes) - sizes
    role = np.arange(n) - starts[household]
    head = starts[household]
    hh_size = sizes[household]

    # gender and birth dates
    female = rng.random(n) < 0.52
    partner = role == 1
    female[partner] = np.where(rng.random(int(partner.sum())) < 0.9,
                               ~female[head[partner]], female[partner])
    head_year = rng.integers(1948, 2004, size=h_count)[household]
    year = head_year.copy()
    year[partner] = np.clip(head_year[partner] + np.round(rng.normal(0, 4, partner.sum())),
                            1940, 2005).astype(int)
    child = role >= 2
    year[child] = np.clip(head_year[child] + rng.integers(22, 38, size=int(child.sum())), 1960, 2008)
    doy = rng.integers(0, 365, size=n)
    dates = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]") + doy
    birth_m = dates.astype("datetime64[M]").astype(int) % 12 + 1
    birth_d = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(int) + 1

    # names
    first = np.empty(n, dtype=object)
    first[female] = _draw(rng, lex.FEMALE_NAMES, lex.FEMALE_WEIGHTS, int(female.sum()))
    first[~female] = _draw(rng, lex.MALE_NAMES, lex.MALE_WEIGHTS, int((~female).sum()))
    own_last = _draw(rng, lex.FAMILY_NAMES, lex.FAMILY_WEIGHTS, n)
    double = (role == 0) & (rng.random(n) < 0.015)
    own_last[double] = cat(own_last[double], "-", _draw(rng, lex.FAMILY_NAMES, lex.FAMILY_WEIGHTS,
                                                          int(double.sum())))
    last = own_last[head]
    keeps_own = partner & (rng.random(n) < 0.2)
    last[keeps_own] = own_last[keeps_own]

    # addresses, one per household
    types = objects([t for t, _, _ in lex.STREET_TYPES])
    type_p = np.array([w for _, w, _ in lex.STREET_TYPES], dtype=float)
    h_city = rng.choice(len(lex.CITY_NAMES), size=h_count, p=lex.CITY_WEIGHTS)
    h_no = np.minimum(1 + rng.geometric(0.035, size=h_count), 240)
    h_bis = np.where(rng.random(h_count) < 0.04, "bis", "").astype(object)
    h_type = types[rng.choice(len(types), size=h_count, p=type_p / type_p.sum())]
    h_name = objects(lex.STREET_NAMES)[rng.integers(0, len(lex.STREET_NAMES), size=h_count)]
    street_no = cat(to_str(h_no), h_bis)[household]
    street_type = h_type[household]
    street_name = h_name[household]
    city_idx = h_city[household]

    # namesakes: two persons living alone, same common name, same city
    alone = np.flatnonzero(hh_size == 1)
    k = min(len(alone) // 2, max(3 if n >= 100 else 1, round(o.namesake_share * n)))
    namesake_of = np.full(n, -1, dtype=np.int64)
    if k > 0 and o.namesake_share > 0:
        chosen = rng.choice(alone, size=2 * k, replace=False)
        a, b = chosen[:k], chosen[k:]
        fem_top = objects(lex.FEMALE_NAMES[:15])
        male_top = objects(lex.MALE_NAMES[:15])
        first[a] = np.where(female[a], fem_top[rng.integers(0, 15, k)],
                            male_top[rng.integers(0, 15, k)])
        last[a] = objects(lex.FAMILY_NAMES[:12])[rng.integers(0, 12, k)]
        female[b], first[b], last[b] = female[a], first[a], last[a]
        city_idx[b] = city_idx[a]
        namesake_of[a], namesake_of[b] = b, a
        same = (year[a] == year[b]) & (birth_m[a] == birth_m[b])
        year[b[same]] += 1 + rng.integers(0, 6, int(same.sum()))

    gender = np.where(female, "F", "M").astype(object)
    cities = objects(lex.CITY_NAMES)
    postcodes = objects(lex.CITY_POSTCODES)
    street = cat(street_no, " ", street_type, " ", street_name)

    # nicknames people go by
    nick = np.full(n, "", dtype=object)
    nicks = _nicknames_of()
    nick_choice = map_unique(first, lambda s: "|".join(nicks.get(s, [])))
    has = (nick_choice != "") & (rng.random(n) < o.nickname_share)
    nick[has] = map_unique(nick_choice[has], lambda s: s.split("|")[0])

    # e-mail addresses (unique, except a household's shared family address)
    domains = objects([d for d, _ in lex.EMAIL_DOMAINS])
    dom_p = np.array([w for _, w in lex.EMAIL_DOMAINS], dtype=float)
    dom_p /= dom_p.sum()
    pat_p = np.array([w for _, w in _EMAIL_PATTERNS], dtype=float)
    pat_p /= pat_p.sum()
    pat1 = rng.choice(len(_EMAIL_PATTERNS), size=n, p=pat_p)
    local1 = _email_locals(rng, first, last, year, pat1)
    dom1_idx = rng.choice(len(domains), size=n, p=dom_p)
    has2 = rng.random(n) < o.second_email_share
    pat2 = (pat1 + rng.integers(1, len(_EMAIL_PATTERNS), size=n)) % len(_EMAIL_PATTERNS)
    local2 = np.where(has2, _email_locals(rng, first, last, year, pat2), "").astype(object)
    dom2_idx = (dom1_idx + rng.integers(1, len(domains), size=n)) % len(domains)
    dom2 = np.where(has2, domains[dom2_idx], "").astype(object)
    fam_h = (sizes >= 2) & (rng.random(h_count) < o.family_email_share)
    fam_pat = objects(_FAMILY_PATTERNS)[rng.integers(0, len(_FAMILY_PATTERNS), h_count)]
    h_slug = map_unique(last[starts], lambda s: ascii_slug(s).replace("-", ""))
    fam_local = np.array([p.replace("{l}", s) for p, s in zip(fam_pat, h_slug, strict=True)], dtype=object)
    fam_dom = domains[rng.choice(len(domains), size=h_count, p=dom_p)]
    # dedupe: persons' own addresses and one entry per family address
    own2 = np.flatnonzero(has2)
    fam_idx = np.flatnonzero(fam_h)
    pool_local = np.concatenate([local1, local2[own2], fam_local[fam_idx]])
    pool_dom = np.concatenate([domains[dom1_idx], dom2[own2], fam_dom[fam_idx]])
    while True:
        full = cat(pool_local, "@", pool_dom)
        dup = pd.Series(full).duplicated().to_numpy()
        if not dup.any():
            break
        pool_local[dup] = cat(pool_local[dup], to_str(rng.integers(1, 100, size=int(dup.sum()))))
    email_local = pool_local[:n]
    email_domain = pool_dom[:n]
    local2[own2] = pool_local[n:n + len(own2)]
    fam_local[fam_idx] = pool_local[n + len(own2):]
    family_email = np.zeros(n, dtype=bool)
    fam_member = fam_h[household] & (role <= 1)
    local2[fam_member] = fam_local[household[fam_member]]
    dom2[fam_member] = fam_dom[household[fam_member]]
    family_email[fam_member] = True

    # mobile phones (national significant number, unique)
    has_phone = rng.random(n) < 0.92
    # French mobiles are 06 and 073-079 (070-072 are not allocated)
    nsn = unique_ints(rng, 0, 170_000_000, n)
    nsn = np.where(nsn < 100_000_000, 600_000_000 + nsn, 630_000_000 + nsn)
    phone = np.where(has_phone, cat("0", zpad(nsn, 9)), "").astype(object)

    # accounts, app, family tablets
    has_account = rng.random(n) < o.account_share
    has_account[namesake_of >= 0] = True
    has_app = rng.random(n) < o.app_share
    tablet_h = (sizes >= 2) & (rng.random(h_count) < o.tablet_share)
    two = tablet_h & (rng.random(h_count) < o.tablet_two_users)
    tablet_user = tablet_h[household] & ((role == 0) | ((role == 1) & two[household]))
    tablet_login = tablet_user & (rng.random(n) < 0.85)
    logged = np.bincount(household, weights=tablet_login & has_account, minlength=h_count)
    both = two & (logged.astype(int) == 2)
    if not both.any() and (sizes >= 2).any():
        # make sure one family tablet carries two logged-in accounts
        h = int(np.flatnonzero(tablet_h & (sizes >= 2))[0]) if (tablet_h & (sizes >= 2)).any() \
            else int(np.flatnonzero(sizes >= 2)[0])
        tablet_h[h] = two[h] = True
        members = starts[h] + np.arange(2)
        tablet_user[members] = tablet_login[members] = has_account[members] = True
        both[h] = True
    tablet_login &= has_account
    both = two & (np.bincount(household, weights=tablet_login, minlength=h_count).astype(int) == 2)
    h_tablet = np.where(tablet_h, uuid4(rng, h_count), "").astype(object)
    h_tablet_anon = np.where(tablet_h, uuid4(rng, h_count), "").astype(object)
    tablet = np.where(tablet_user, h_tablet[household], "").astype(object)
    tablet_anon = np.where(tablet_user, h_tablet_anon[household], "").astype(object)

    n_acc = int(has_account.sum())
    space = max(10 * n_acc, 10_000)
    width = max(7, len(str(space)))
    account = np.full(n, "", dtype=object)
    account[has_account] = cat("C", zpad(unique_ints(rng, 1, space, n_acc), width))
    loyal = has_account & (rng.random(n) < o.loyalty_share)
    loyalty = np.full(n, "", dtype=object)
    loyalty[loyal] = cat("29", zpad(unique_ints(rng, 0, 10**10, int(loyal.sum())), 10))

    adid = np.where(has_app, uuid4(rng, n), "").astype(object)
    lat = has_app & (rng.random(n) < o.limited_ad_tracking)
    if has_app.any() and not lat.any():
        lat[np.flatnonzero(has_app)[0]] = True
    app_login = has_app & has_account & (rng.random(n) < o.app_login_share)

    # home IPs per household
    octets = rng.integers(1, 255, size=(h_count, 3))
    first_oct = np.array(lex.HOME_IP_FIRST_OCTETS)[rng.integers(0, len(lex.HOME_IP_FIRST_OCTETS), h_count)]
    h_ip = cat(to_str(first_oct), ".", to_str(octets[:, 0]), ".", to_str(octets[:, 1]), ".",
               to_str(octets[:, 2]))

    # presence in each source
    web = rng.random(n) < o.web_share
    web_cookies = np.where(web, rng.geometric(1 - o.extra_cookie_p, size=n), 0)
    visitor = has_app & (rng.random(n) < o.store_visitor_share)
    visits = np.where(visitor, 1 + rng.poisson(o.visits_mean, size=n), 0)
    tablet_visits = np.where(tablet_login, 1, 0) + np.where(tablet_user, rng.poisson(0.3, size=n), 0)
    twitter = rng.random(n) < o.twitter_share
    support = rng.random(n) < o.support_share
    support_msgs = np.where(support, 1 + rng.poisson(0.4, size=n), 0)
    esp = rng.random(n) < o.esp_share
    esp_rows = np.where(esp, 1 + ((local2 != "") & (rng.random(n) < o.esp_second_row)), 0)
    in_crm = has_account & ((rng.random(n) < o.crm_share_of_accounts) | (namesake_of >= 0))

    return Population(
        n=n, person_id=cat("P", zpad(np.arange(1, n + 1), max(7, len(str(n))))),
        household=household, role=role, gender=gender, first=first, last=last, nick=nick,
        birth_y=year, birth_m=birth_m, birth_d=birth_d,
        street_no=street_no, street_type=street_type, street_name=street_name, street=street,
        postcode=postcodes[city_idx], city=cities[city_idx],
        email_local=email_local, email_domain=email_domain, email2_local=local2,
        email2_domain=dom2, family_email=family_email, phone=phone, account=account,
        loyalty=loyalty, adid=adid, lat=lat, app_login=app_login, tablet=tablet,
        tablet_anon=tablet_anon, tablet_login=tablet_login, home_ip=h_ip[household],
        web_cookies=web_cookies, visits=visits, tablet_visits=tablet_visits, twitter=twitter,
        support_msgs=support_msgs, esp_rows=esp_rows, in_crm=in_crm, namesake_of=namesake_of,
        shared_tablets_two_accounts=int(both.sum()),
    )

