"""The officer's municipality: user, channel, Slack team and e-mail domain entries of the mapping
file (names normalised), and the Slack profile lookup (users.info on the stand-in)."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.municipality import MunicipalityMap, ProfileLookup, find_municipality, parse_mapping
from bot.slack.client import make_client
from tests.standins.slack_api import SlackApiStandIn

MAPPING = """\
ID,市町村
U0USER,北海道虻田郡倶知安町
C0CHAN,くしろし
T0WAKKANAI,わっかない
city.wakkanai.lg.jp,稚内市
@Town.Kutchan.LG.JP,倶知安町
*.obihiro.lg.jp,012076
"""


def test_keys_and_names(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text(MAPPING, encoding="utf-8")
    m = MunicipalityMap(path)
    assert m.lookup("U0USER") == "倶知安町"                     # normalised names
    assert m.lookup(None, "C0CHAN") == "釧路市"
    assert m.lookup(None, None, team="T0WAKKANAI") == "稚内市"
    assert m.lookup("U0USER", "C0CHAN", team="T0WAKKANAI") == "倶知安町"   # user first
    assert m.lookup(None, "C0CHAN", team="T0WAKKANAI") == "釧路市"          # then channel
    mail = lambda email: m.lookup(None, None, email=email)
    assert mail("taro@city.wakkanai.lg.jp") == "稚内市"
    assert mail("taro@soumu.city.wakkanai.lg.jp") == "稚内市"          # a subdomain
    assert mail("TARO@TOWN.KUTCHAN.LG.JP") == "倶知安町"
    assert mail("x@kikaku.city.obihiro.lg.jp") == "帯広市"              # *. = subdomains
    assert mail("x@obihiro.lg.jp") is None                             # ... only
    assert mail("x@city.sapporo.lg.jp") is None and mail("not-an-address") is None
    assert m.uses_profiles


def test_unknown_names_name_the_line():
    with pytest.raises(ConfigError) as err:
        parse_mapping("slack_id,municipality\nU1,札幌市\nU2,わっかなし\n", "map.csv")
    assert err.value.user_message.startswith("市町村対応表 map.csv の 3 行目: 「わっかなし」は")
    assert "稚内市" in err.value.user_message
    assert not MunicipalityMap(mapping={"U1": "札幌市", "C1": "函館市"}).uses_profiles


def test_profiles_from_users_info_on_the_stand_in(make_settings):
    with SlackApiStandIn() as slack:
        slack.add_user("W0MAIL", real_name="稚内 太郎", email="taro@soumu.city.wakkanai.lg.jp")
        slack.add_user("W0CONNECT", real_name="倶知安 花子", team_id="T0KUTCHAN")
        client = make_client(make_settings(SLACK_BOT_TOKEN="xoxb-t", SLACK_API_URL=slack.url))
        profiles = ProfileLookup(client)
        assert profiles("W0MAIL") == ("T111", "taro@soumu.city.wakkanai.lg.jp")
        assert profiles("W0MAIL") == ("T111", "taro@soumu.city.wakkanai.lg.jp")   # cached
        assert len(slack.calls("users.info")) == 1
        assert profiles("W0CONNECT") == ("T0KUTCHAN", None)
        assert profiles("W0NOBODY") == (None, None)                 # user_not_found: logged
        assert profiles("console:taro") == (None, None)             # not a Slack user: no call
        assert len(slack.calls("users.info")) == 3

        mapping = MunicipalityMap(mapping={"city.wakkanai.lg.jp": "稚内市", "T0KUTCHAN": "倶知安町",
                                           "U0KNOWN": "札幌市"})
        assert find_municipality(mapping, "W0MAIL", "C0X", "T111", profiles) == "稚内市"
        assert find_municipality(mapping, "W0CONNECT", "C0X", "T111", profiles) == "倶知安町"
        assert find_municipality(mapping, "W0CONNECT", "C0X", "T0KUTCHAN", None) == "倶知安町"
        before = len(slack.calls("users.info"))
        assert find_municipality(mapping, "U0KNOWN", None, None, profiles) == "札幌市"
        plain = MunicipalityMap(mapping={"U0KNOWN": "札幌市"})
        assert find_municipality(plain, "W0MAIL", None, None, profiles) is None
        assert len(slack.calls("users.info")) == before           # no lookup was needed
