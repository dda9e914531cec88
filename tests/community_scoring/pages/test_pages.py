"""What the pages show, on the planted community (tests/community_scoring/pages/conftest.py): boards ranked by
the selectors the API uses, filters, search, paging, CSV identical to the page, the member's audience view."""
import csv
import re
from io import StringIO

import pytest

from community_scoring.pages import views
from community_scoring.selectors.leaderboards import leaderboard_get


@pytest.fixture
def admin_client(client, user_of):
    client.force_login(user_of("admin"))
    return client


def member_links(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<td><a href="/members/(\d+)/">', html)]


def test_interest_board_lists_the_selectors_order_and_links_every_name(community, admin_client):
    html = admin_client.get("/leaderboards/interest/").content.decode()
    expected = list(leaderboard_get(board="interest").rows.order_by("-rank_key", "-member_id")
                    .values_list("member_id", flat=True))
    assert member_links(html) == expected
    assert community["sam"].pk not in expected  # staff never on a board


def test_persona_filter_keeps_only_that_persona(community, admin_client):
    html = admin_client.get("/leaderboards/influence/?persona=marketer").content.decode()
    ids = member_links(html)
    assert community["nick"].pk in ids and community["paula"].pk not in ids
    assert len(ids) == 1 + 6  # Nick and the six marketer fans


def test_advocate_and_detractor_rows_show_the_reason(community, admin_client):
    advocates = admin_client.get("/leaderboards/advocates/").content.decode()
    detractors = admin_client.get("/leaderboards/detractors/").content.decode()
    assert member_links(advocates) == [community["paula"].pk]
    assert member_links(detractors) == [community["nick"].pk]
    assert "influence before sentiment" in advocates and "over 4 texts" in detractors


def test_search_by_name_and_external_id(community, admin_client):
    assert member_links(admin_client.get("/leaderboards/interest/?q=nick").content.decode()) == [community["nick"].pk]
    assert member_links(admin_client.get("/leaderboards/interest/?q=ext-paula").content.decode()) == [
        community["paula"].pk]
    assert member_links(admin_client.get("/leaderboards/interest/?q=ext-pau").content.decode()) == []  # ids: exact


def test_paging_walks_the_board_without_gaps(community, admin_client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    expected = list(leaderboard_get(board="interest").rows.order_by("-rank_key", "-member_id")
                    .values_list("member_id", flat=True))
    seen, page = [], 1
    while True:
        html = admin_client.get(f"/leaderboards/interest/?page={page}").content.decode()
        seen += member_links(html)
        if 'rel="next"' not in html:
            break
        page += 1
    assert seen == expected and page == -(-len(expected) // 5)


def test_csv_is_exactly_the_page(community, admin_client):
    html = admin_client.get("/leaderboards/influence/?persona=developer").content.decode()
    response = admin_client.get("/leaderboards/influence/csv/?persona=developer")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="leaderboard-influence-all-developer.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(StringIO(response.content.decode())))
    headings = re.findall(r'<th scope="col"[^>]*>([^<]+)</th>', html.split('class="board"')[1])
    assert rows[0] == headings
    names = re.findall(r'<td><a href="/members/\d+/">([^<]+)</a></td>', html)
    assert [r[1] for r in rows[1:]] == names
    paula = next(r for r in rows[1:] if r[1] == "Paula Positive")
    shown = re.search(r'Paula Positive</a></td>(.*?)</tr>', html).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", shown)
    assert paula[2:] == [c.replace(",", "") for c in cells]  # same numbers, same rounding


def test_bad_query_is_a_400_naming_the_field(community, admin_client):
    response = admin_client.get("/leaderboards/interest/?period=week")
    assert response.status_code == 400 and b"period" in response.content
    assert admin_client.get("/leaderboards/interest/?page=x").status_code == 400
    assert admin_client.get("/leaderboards/nope/").status_code == 404


def test_rising_board_defaults_to_30_days(community, admin_client):
    html = admin_client.get("/leaderboards/rising/").content.decode()
    assert '<option value="30d" selected>' in html
    assert member_links(html)  # every planted member gained interest from nothing this month


def test_member_page_explains_both_scores(community, admin_client):
    paula = community["paula"]
    html = admin_client.get(f"/members/{paula.pk}/").content.decode()
    for text in ["Paula Positive", "How the interest score was earned", "blog_post", "Influence terms",
                 "Who they influence", "Their top influencers", "Nick Negative", "Most positive", "Great answer",
                 "Stage history", "Recent activity", "crm-paula", "advocate"]:
        assert text in html, text
    # the history chart: interest on the two snapshot days, influence on the run's day
    assert html.count('class="point series-1"') == 2 and html.count('class="point series-2"') == 1
    assert 'role="img"' in html


def test_member_rank_and_percentile(community, admin_client):
    # Interest: Paula has the highest score among the 14 who count (Sam is staff): rank 1, percentile 100.
    html = admin_client.get(f"/members/{community['paula'].pk}/").content.decode()
    assert "1 of 14" in html and "100.0%" in html


def test_a_merged_identity_redirects_to_its_member(community, admin_client):
    response = admin_client.get(f"/members/{community['alias'].pk}/")
    assert response.status_code == 302 and response["Location"] == f"/members/{community['paula'].pk}/"
    assert admin_client.get("/members/999999/").status_code == 404


def test_dashboard_shows_funnel_trends_leaders_and_runs(community, admin_client):
    html = admin_client.get("/").content.decode()
    for text in ["Members per stage", "Actions per day", "Interest and influence trends", "Top advocates",
                 "Rising members", "Detractors needing attention", "Influence runs", "Pending scoring work"]:
        assert text in html, text
    assert f'href="/members/{community["paula"].pk}/"' in html and f'href="/members/{community["nick"].pk}/"' in html
    assert html.count("<svg") == 3


def test_interest_board_csv_and_member_page_show_interest_valued_at_the_read_instant(community, admin_client,
                                                                                   monkeypatch):
    """The planted scores were recomputed at REF; read three days later they show the decay since (issue 15,
    item 7), equal to a recompute at that instant, and the page says which instant."""
    from datetime import timedelta

    from community_scoring.models import InterestScore
    from community_scoring.selectors import interest
    from community_scoring.services.recompute import interest_recompute
    from tests.community_scoring.pages.conftest import REF

    at = REF + timedelta(days=3)
    monkeypatch.setattr(interest, "valued_now", lambda: at)
    page = admin_client.get("/leaderboards/interest/").content.decode()
    rows = list(csv.DictReader(StringIO(admin_client.get("/leaderboards/interest/csv/").content.decode())))
    member_page = admin_client.get(f"/members/{community['paula'].pk}/").content.decode()
    interest_recompute(now=at)
    expected = {s.member_id: s for s in InterestScore.objects.all()}
    assert f'datetime="{at.isoformat()}"' in page and f'datetime="{at.isoformat()}"' in member_page
    assert rows and {row["Interest"] for row in rows} != {"0.0"}
    ids = member_links(page)
    for member_id, row in zip(ids, rows):
        assert (row["Interest"], row["Engagement"], row["Stage"]) == (
            f"{expected[member_id].score:.1f}", f"{expected[member_id].engagement:.1f}", expected[member_id].stage)
    paula = expected[community["paula"].pk]
    assert f'<div class="big">{paula.score:.1f}</div>' in member_page
