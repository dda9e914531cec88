"""/quality/: who may open it, the hand-worked community's figures in plain words and charts, the empty state,
and 400 naming a bad field."""
import re
import xml.etree.ElementTree as ET

import pytest

from tests.community_scoring.outcomes.quality_community import quality_community_build

URL = "/quality/"
FIXED = "?period=90d&within_days=30&end=2026-05-31"  # a date: the period ends at the end of May 31 (June 1, 00:00)
NS = {"svg": "http://www.w3.org/2000/svg"}


@pytest.fixture
def quality(db):
    return quality_community_build()


def figure(page: str, key: str) -> tuple[str, str]:
    """(the big value, the explanation) of one headline figure."""
    block = re.search(rf'id="figure-{key}">(.*?)</div>', page, re.S).group(1)
    value = re.search(r'<p class="big">(.*?)</p>', block, re.S).group(1).strip()
    meaning = re.search(r'<p class="note">(.*?)</p>', block, re.S).group(1).strip()
    return value, meaning


def svg_titles(page: str, heading_id: str) -> list[str]:
    section = page[page.index(f'id="{heading_id}"'):]
    svg = ET.fromstring(section[section.index("<svg"):section.index("</svg>") + 6])
    return [t.text for el in svg.iter() if el.tag.endswith("}rect") or el.tag.endswith("}line")
            for t in el.findall("svg:title", NS)]


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", ["ingest", None])
def test_ingest_and_roleless_users_get_403_and_no_link(client, user_of, role):
    client.force_login(user_of(role))
    assert client.get(URL).status_code == 403
    assert 'href="/quality/"' not in client.get("/accounts/login/").content.decode()


@pytest.mark.parametrize("role", ["admin", "community_manager", "marketing"])
def test_reading_roles_open_it_from_the_nav(client, user_of, role):
    client.force_login(user_of(role))
    response = client.get(URL)
    assert response.status_code == 200
    assert '<a href="/quality/" aria-current="page">Quality</a>' in response.content.decode()
    assert 'href="/quality/"' in client.get("/").content.decode()


def test_headline_figures_say_what_they_mean(client, user_of, quality):
    client.force_login(user_of("community_manager"))
    page = client.get(URL + FIXED).content.decode()
    assert "No outcomes recorded yet" not in page
    assert "7 members had acted by May 2 without converting yet;\n    4 converted by Jun 1, 2026 (57%)" in page
    value, meaning = figure(page, "auc")
    assert value == "0.58" and "58 times in 100 the converter had the higher score on May 2" in meaning
    assert figure(page, "lift") == ("1.8×", "The top tenth by score converted 1.8 times as often as the members on "
                                            "average.")
    assert figure(page, "mql_precision") == ("67%", "Of the 3 MQLs on May 2, 2 converted within 30 days.")
    assert figure(page, "mql_to_sql") == ("75%", "Of the 4 members who became MQLs, sales accepted or qualified 3 "
                                                 "afterwards.")
    assert figure(page, "acceptance") == ("67%", "Sales accepted 2 of the 3 leads they decided on in the period.")
    assert figure(page, "median_days") == ("8.0", "Half of the 3 new MQLs who converted did so within 8.0 days.")


def test_charts_show_the_rates_and_the_capacity_line(client, user_of, quality):
    client.force_login(user_of("marketing"))
    page = client.get(URL + FIXED + "&capacity=1").content.decode()
    assert svg_titles(page, "decile-h") == ["2: 100% converted", "3: 0% converted", "5: 0% converted",
                                            "6: 100% converted", "8: 100% converted", "9: 0% converted",
                                            "10: 100% converted"]
    assert svg_titles(page, "stage-h") == ["visitor: 50% converted", "MQL: 67% converted"]  # engaged: nobody
    weekly = svg_titles(page, "weekly-h")
    assert weekly[7:9] == ["Apr 21: 2 new MQLs", "Apr 28: 2 new MQLs"] and weekly[-1] == "Sales capacity: 1"
    assert "2 of 13 weeks brought more" in page


def test_filters_reach_the_report(client, user_of, quality):
    client.force_login(user_of("admin"))
    page = client.get(URL + FIXED + "&persona=developer").content.decode()
    assert "2 members had acted by May 2" in page
    assert figure(page, "auc")[0] == "-"  # both converted: no negatives to rank against
    assert "1 member had acted by May 2" in client.get(URL + FIXED + "&source=crm").content.decode()


def test_no_outcomes_is_said_plainly(client, user_of, db):
    client.force_login(user_of("marketing"))
    page = client.get(URL).content.decode()
    assert "No outcomes recorded yet" in page
    assert "<svg" not in page and 'id="figure-auc"' not in page


@pytest.mark.parametrize("query, field", [("period=forever", "period"), ("within_days=0", "within_days"),
                                          ("conversions=bogus", "conversions"), ("end=someday", "end")])
def test_bad_query_is_a_400_naming_the_field(client, user_of, db, query, field):
    client.force_login(user_of("community_manager"))
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert f"<code>{field}</code>" in response.content.decode()
