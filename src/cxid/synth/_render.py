"""Render canonical person attributes the way one source would show them, with the
corruptions of that source, and compute the identifier keys a decent normaliser
would derive from what was rendered (used only to decide truth linkability).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cxid.synth import _lexicon as lex
from cxid.synth._options import SynthOptions
from cxid.synth._population import ZERO_ADID, Population
from cxid.synth._text import cat, fold, map_unique, mojibake, objects, pick, typos, zpad

_PLUS_DOMAINS = {"gmail.com", "hotmail.fr", "hotmail.com", "outlook.fr", "outlook.com", "icloud.com"}
_PLUS_TAGS = objects(["promo", "shop", "news", "maboutique", "achats", "spam"])
_JUNK_EMAILS = frozenset(lex.JUNK_EMAILS)
_JUNK_PHONES = frozenset(lex.JUNK_PHONES)
_JUNK_NAMES = objects(lex.JUNK_NAMES)


@dataclass(frozen=True)
class NameStyle:
    """How a source writes names: rates of each variation."""

    nick: float = 0.0
    upper_last: float = 0.0
    lower: float = 0.0
    accent_drop: float = 0.0
    swap: float = 0.0
    junk: float = 0.0
    typo: float = 1.0
    """multiplier of the global name typo rate"""


def _spelling(name: str, rng_value: float) -> str:
    variants = lex.SPELLING_VARIANTS.get(name)
    if not variants:
        return name
    return variants[int(rng_value * len(variants)) % len(variants)]


def _compound(name: str) -> str:
    if "-" in name:
        return name.replace("-", " ")
    if "'" in name:
        return name.replace("'", "")
    if " " in name:
        return name.replace(" ", "")
    return name


def names(pop: Population, pidx: np.ndarray, rng: np.random.Generator, o: SynthOptions,
          style: NameStyle) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First and last names as written by a source.

    Returns ``(first, last, real, nicked)``: ``real`` is False for junk names,
    ``nicked`` marks first names replaced by the person's nickname.
    """
    n = len(pidx)
    first = pop.first[pidx].copy()
    last = pop.last[pidx].copy()
    u = rng.random((n, 10))
    nicked = (pop.nick[pidx] != "") & (u[:, 0] < style.nick)
    first[nicked] = pop.nick[pidx][nicked]
    sp = ~nicked & (u[:, 1] < o.spelling_variant)
    if sp.any():
        first[sp] = objects([_spelling(v, r) for v, r in zip(first[sp], u[sp, 2], strict=True)])
    comp = u[:, 3] < 0.08
    if comp.any():
        first[comp] = map_unique(first[comp], _compound)
        last[comp] = map_unique(last[comp], _compound)
    drop = u[:, 4] < style.accent_drop
    if drop.any():
        first[drop] = map_unique(first[drop], fold)
        last[drop] = map_unique(last[drop], fold)
    ty = u[:, 5] < o.name_typo * style.typo
    if ty.any():
        which = rng.random(int(ty.sum())) < 0.5
        idx = np.flatnonzero(ty)
        first[idx[which]] = typos(first[idx[which]], rng)
        last[idx[~which]] = typos(last[idx[~which]], rng)
    moji = u[:, 6] < o.mojibake
    if moji.any():
        first[moji] = map_unique(first[moji], mojibake)
        last[moji] = map_unique(last[moji], mojibake)
    up = u[:, 7] < style.upper_last
    if up.any():
        last[up] = map_unique(last[up], str.upper)
    low = u[:, 8] < style.lower
    if low.any():
        first[low] = map_unique(first[low], str.lower)
        last[low] = map_unique(last[low], str.lower)
    swap = rng.random(n) < style.swap
    first[swap], last[swap] = last[swap], first[swap]
    junk = u[:, 9] < style.junk
    real = ~junk
    if junk.any():
        k = int(junk.sum())
        first[junk] = _JUNK_NAMES[rng.integers(0, len(_JUNK_NAMES), k)]
        last[junk] = np.where(rng.random(k) < 0.7, _JUNK_NAMES[rng.integers(0, len(_JUNK_NAMES), k)],
                              last[junk])
    return first, last, real, nicked


def _toggle_dots(local: str) -> str:
    base, plus, tag = local.partition("+")
    if "." in base:
        base = base.replace(".", "")
    elif len(base) > 4:
        base = base[:3] + "." + base[3:]
    return base + plus + tag


def _case_variant(email: str) -> str:
    local, _, domain = email.partition("@")
    if len(local) % 3 == 0:
        return email.upper()
    return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain.capitalize()


def _domain_typo(domain: str, r: float) -> str:
    options = lex.DOMAIN_TYPOS.get(domain)
    if not options:
        return domain[:-1] + domain[-1] * 2
    return options[int(r * len(options)) % len(options)]


def emails(pop: Population, pidx: np.ndarray, second: np.ndarray, rng: np.random.Generator,
           o: SynthOptions, *, junk: float = 0.0, typo: float = 1.0) -> np.ndarray:
    """E-mail addresses as typed: primary or second address, with case, gmail dots,
    +tags, typos and (at rate ``junk``) junk values."""
    n = len(pidx)
    use2 = second & (pop.email2_local[pidx] != "")
    local = pick(use2, pop.email2_local[pidx], pop.email_local[pidx])
    domain = pick(use2, pop.email2_domain[pidx], pop.email_domain[pidx])
    u = rng.random((n, 6))
    gm = (domain == "gmail.com") & (u[:, 0] < o.gmail_dots)
    if gm.any():
        local[gm] = map_unique(local[gm], _toggle_dots)
    plus = np.isin(domain, list(_PLUS_DOMAINS)) & (u[:, 1] < o.plus_tag)
    if plus.any():
        local[plus] = cat(local[plus], "+", _PLUS_TAGS[rng.integers(0, len(_PLUS_TAGS), int(plus.sum()))])
    ty = u[:, 2] < o.email_typo * typo
    if ty.any():
        idx = np.flatnonzero(ty)
        on_domain = u[idx, 3] < 0.4
        d = idx[on_domain]
        domain[d] = objects([_domain_typo(v, r) for v, r in zip(domain[d], u[d, 4], strict=True)])
        loc = idx[~on_domain]
        local[loc] = typos(local[loc], rng)
    out = cat(local, "@", domain)
    case = u[:, 5] < o.email_case
    if case.any():
        out[case] = map_unique(out[case], _case_variant)
    jk = rng.random(n) < junk
    if jk.any():
        out[jk] = objects(lex.JUNK_EMAILS)[rng.integers(0, len(lex.JUNK_EMAILS), int(jk.sum()))]
    return out


_PHONE_FORMATS = np.array([0.30, 0.30, 0.08, 0.10, 0.05, 0.12, 0.05])


def phones(pop: Population, pidx: np.ndarray, rng: np.random.Generator, *,
           junk: float = 0.0, formats: np.ndarray | None = None) -> np.ndarray:
    """French mobile numbers in the formats people type; empty when the person has none."""
    n = len(pidx)
    canon = pop.phone[pidx]
    has = canon != ""
    out = np.full(n, "", dtype=object)
    if has.any():
        c = canon[has]
        nsn = np.asarray(c, dtype=str).astype(np.int64)
        d1 = (nsn // 10**8).astype(str).astype(object)
        pairs = [zpad((nsn // 10 ** (6 - 2 * i)) % 100, 2) for i in range(4)]
        fmt = rng.choice(7, size=len(c), p=(formats if formats is not None else _PHONE_FORMATS))
        spaced = cat(" ", pairs[0], " ", pairs[1], " ", pairs[2], " ", pairs[3])
        compact = cat(pairs[0], pairs[1], pairs[2], pairs[3])
        variants = [
            c,
            cat("0", d1, spaced),
            cat("+33 ", d1, spaced),
            cat("+33", d1, compact),
            cat("0033", d1, compact),
            cat("0", d1, ".", pairs[0], ".", pairs[1], ".", pairs[2], ".", pairs[3]),
            cat("0", d1, "-", pairs[0], "-", pairs[1], "-", pairs[2], "-", pairs[3]),
        ]
        out[has] = np.choose(fmt, variants).astype(object)
    jk = rng.random(n) < junk
    if jk.any():
        out[jk] = objects(lex.JUNK_PHONES)[rng.integers(0, len(lex.JUNK_PHONES), int(jk.sum()))]
    return out


def birth_parts(pop: Population, pidx: np.ndarray, rng: np.random.Generator,
                o: SynthOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) with day/month swapped or one digit off at the trap rates."""
    y = pop.birth_y[pidx].copy()
    m = pop.birth_m[pidx].copy()
    d = pop.birth_d[pidx].copy()
    u = rng.random((len(pidx), 3))
    swap = (u[:, 0] < o.birth_swap) & (d <= 12) & (d != m)
    m[swap], d[swap] = d[swap], m[swap]
    off = ~swap & (u[:, 1] < o.birth_off)
    part = u[:, 2]
    yo = off & (part < 0.4)
    y[yo] += np.where(rng.random(int(yo.sum())) < 0.5, 1, -1)
    do = off & (part >= 0.4)
    d[do] = np.where(d[do] <= 18, d[do] + np.where(part[do] < 0.7, 1, 10), d[do] - 1)
    d = np.minimum(d, np.where(m == 2, 28, 30))
    return y, m, d


def iso_dates(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cat(zpad(y, 4), "-", zpad(m, 2), "-", zpad(d, 2))


def french_dates(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    return cat(zpad(d, 2), "/", zpad(m, 2), "/", zpad(y, 4))


_ABBREV = {t: a for t, _, a in lex.STREET_TYPES}


def _street_variant(street: str, code: int) -> str:
    no, _, rest = street.partition(" ")
    stype, _, name = rest.partition(" ")
    if code == 1:
        return f"{no}, {stype} {name}"
    if code == 2:
        abbrevs = _ABBREV.get(stype, ())
        return f"{no} {abbrevs[0] if abbrevs else stype} {name}"
    if code == 3:
        return street.upper()
    if code == 4:
        return fold(street)
    if code == 5:
        return f"{no} {stype.capitalize()} {name}"
    return street


def streets(pop: Population, pidx: np.ndarray, rng: np.random.Generator,
            p: tuple[float, ...] = (0.55, 0.08, 0.15, 0.07, 0.07, 0.08)) -> np.ndarray:
    """Street lines: plain, '12, rue…', abbreviated type, upper case, no accents, capitalised."""
    code = rng.choice(len(p), size=len(pidx), p=np.asarray(p) / sum(p))
    key = cat(pop.street[pidx], "\x1f", code.astype(str).astype(object))
    return map_unique(key, lambda k: _street_variant(k.split("\x1f")[0], int(k.split("\x1f")[1])))


def _city_variant(city: str, postcode: str, code: int) -> str:
    if code == 1:
        return city.upper()
    if code == 2 and city in ("Paris", "Lyon", "Marseille"):
        arr = int(postcode[-2:]) if city != "Lyon" else int(postcode[-1:])
        suffix = "er" if arr == 1 else "e"
        return f"{city} {arr}{suffix}" if arr % 2 else f"{city.upper()} {arr:02d}"
    if code == 3:
        out = fold(city)
        return out.replace("Saint-", "St-").replace("Sainte-", "Ste-")
    if code == 4:
        return fold(city).upper().replace("-", " ")
    return city


def cities(pop: Population, pidx: np.ndarray, rng: np.random.Generator,
           p: tuple[float, ...] = (0.65, 0.15, 0.08, 0.07, 0.05)) -> np.ndarray:
    """City names: plain, upper, with arrondissement, 'St-' abbreviated, ASCII upper."""
    code = rng.choice(len(p), size=len(pidx), p=np.asarray(p) / sum(p))
    key = cat(pop.city[pidx], "\x1f", pop.postcode[pidx], "\x1f", code.astype(str).astype(object))
    return map_unique(key, lambda k: _city_variant(*k.split("\x1f")[:2], int(k.split("\x1f")[2])))


# --- identifier keys: what a reasonable normaliser derives (truth linkability only) ---

def _email_key(value: str) -> str:
    v = value.strip().lower()
    if v in _JUNK_EMAILS or "@" not in v:
        return ""
    local, _, domain = v.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


_NON_DIGIT = re.compile(r"\D")


def _phone_key(value: str) -> str:
    digits = _NON_DIGIT.sub("", value)
    if value.strip().startswith("+") or digits.startswith("0033"):
        digits = "0" + (digits[4:] if digits.startswith("0033") else digits[2:])
    if len(digits) != 10 or value in _JUNK_PHONES or len(set(digits[1:])) <= 1:
        return ""
    return digits


def email_keys(values: np.ndarray) -> np.ndarray:
    return map_unique(values, lambda v: _email_key(v) if v else "")


def phone_keys(values: np.ndarray) -> np.ndarray:
    return map_unique(values, lambda v: _phone_key(v) if v else "")


def device_keys(values: np.ndarray) -> np.ndarray:
    return map_unique(values, lambda v: "" if not v or v == ZERO_ADID else v.lower())
