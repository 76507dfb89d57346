"""Rates that shape the synthetic population and its traps."""

from __future__ import annotations

from dataclasses import dataclass, fields

from cxid.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class SynthOptions:
    """Presence rates of each source and rates of each trap. Every field has a default.

    Shares are fractions of persons unless said otherwise; trap rates are per rendered
    value (a name, an e-mail, a date), so each record draws its own corruption.
    """

    # who appears where
    web_share: float = 0.78
    """persons who browse the web site (one or more cookies)"""
    extra_cookie_p: float = 0.4
    """chance of each further browser cookie (cookie churn): cookies ~ 1 + geometric"""
    events_per_cookie: float = 5.5
    """mean web events per cookie beyond the first"""
    account_share: float = 0.60
    """persons with a brand account (and so one CRM row)"""
    loyalty_share: float = 0.45
    """account holders with a loyalty card"""
    app_share: float = 0.55
    """persons with the brand app on their phone (advertising id)"""
    app_login_share: float = 0.75
    """app users with an account who are logged into the app"""
    limited_ad_tracking: float = 0.10
    """app users whose advertising id reads all zeros"""
    store_visitor_share: float = 0.75
    """app users who visit stores (beacon sightings)"""
    visits_mean: float = 2.0
    """mean store visits beyond the first"""
    sightings_mean: float = 2.2
    """mean beacon sightings per visit beyond the first"""
    beacon_user_id_share: float = 0.45
    """sightings of a logged-in app that carry app_user_id"""
    tablet_share: float = 0.35
    """households of two or more with a family tablet"""
    tablet_two_users: float = 0.55
    """family tablets used by two family members"""
    family_email_share: float = 0.12
    """households of two or more sharing one family e-mail address"""
    second_email_share: float = 0.35
    """persons with a second e-mail address"""
    crm_share_of_accounts: float = 1.0
    """account holders present in the CRM export"""
    esp_share: float = 0.40
    """persons in the ESP audience"""
    esp_second_row: float = 0.25
    """ESP members with a second e-mail who subscribed it too"""
    twitter_share: float = 0.15
    """persons with a Twitter account"""
    twitter_unrelated: float = 0.25
    """Twitter accounts whose handle and name carry nothing of the person"""
    support_share: float = 0.20
    """persons who wrote to customer service"""
    namesake_share: float = 0.003
    """persons who get a namesake (same name, same city, another person)"""
    # traps per rendered value
    name_typo: float = 0.03
    email_typo: float = 0.015
    accent_drop: float = 0.15
    mojibake: float = 0.006
    swap_names: float = 0.02
    spelling_variant: float = 0.04
    nickname_informal: float = 0.6
    """persons who go by a nickname use it this often on Twitter and in e-mails"""
    nickname_share: float = 0.5
    """persons with a usual nickname who go by it"""
    gmail_dots: float = 0.12
    plus_tag: float = 0.04
    email_case: float = 0.05
    birth_swap: float = 0.02
    birth_off: float = 0.02
    junk: float = 0.006
    """junk form values: test@test.com, 0000000000, N/A names"""
    malformed_web_lines: float = 2e-5
    """malformed JSON lines per web event (at least three per file)"""
    bad_beacon_rows: float = 5e-6
    """beacon rows with an unparseable timestamp (at least one per file)"""

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or value < 0:
                problems.append(f"synth option {f.name} must be a number >= 0, got {value!r}")
            elif (f.name.endswith(("_share", "_p")) or f.name in _RATES) and value > 1:
                problems.append(f"synth option {f.name} is a fraction, got {value!r}")
        if problems:
            raise ConfigError(problems)


_RATES = {
    "limited_ad_tracking", "beacon_user_id_share", "tablet_two_users", "esp_second_row",
    "twitter_unrelated", "name_typo", "email_typo", "accent_drop", "mojibake", "swap_names",
    "spelling_variant", "nickname_informal", "gmail_dots", "plus_tag", "email_case",
    "birth_swap", "birth_off", "junk", "malformed_web_lines", "bad_beacon_rows",
    "crm_share_of_accounts",
}
