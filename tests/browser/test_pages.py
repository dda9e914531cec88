"""The pages in Chromium: log in through the form, each leaderboard with a persona filter, a member with the
chart drawn, CSV as marketing, 403 for ingest; a screenshot of every page (var/screenshots/)."""
import csv
from io import StringIO

import pytest

from tests.browser.conftest import screenshot
from tests.community_scoring.pages.conftest import plant_community

BOARDS = ["interest", "influence", "advocates", "detractors", "rising"]


@pytest.fixture
def community(transactional_db):
    return plant_community()


def test_a_community_manager_logs_in_and_walks_the_pages(page, login, community):
    login("community_manager")
    assert page.url.endswith("/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert page.locator("svg.chart").count() == 3
    assert page.locator("a[href='/settings/scoring/']").count() == 0
    screenshot(page, "dashboard")
    for board in BOARDS:
        page.goto(f"/leaderboards/{board}/")
        page.select_option("select[name=persona]", "developer")
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        assert "persona=developer" in page.url
        assert page.locator("table.board tbody tr").count() >= 1
        assert "Download CSV" not in page.content()  # no PII grant: no export
        screenshot(page, f"leaderboard-{board}-developer")
    page.goto("/leaderboards/interest/")
    page.click("text=Paula Positive")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Paula Positive"
    chart = page.locator("figure[data-points] svg.chart")
    assert chart.get_attribute("aria-label").startswith("Interest and influence")
    assert chart.locator("circle.point").count() == 3
    assert chart.locator("polyline").count() >= 1
    assert "paula@example.com" not in page.content()
    screenshot(page, "member")


def test_marketing_downloads_the_csv_of_what_is_shown(page, login, community):
    login("marketing")
    page.goto("/leaderboards/influence/?persona=developer")
    names = page.locator("table.board tbody td a").all_inner_texts()
    with page.expect_download() as info:
        page.click("text=Download CSV")
    rows = list(csv.reader(StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert [row[1] for row in rows[1:]] == names
    screenshot(page, "leaderboard-influence-marketing")


def test_the_login_page_and_403_for_ingest(page, signed_in, community):
    page.goto("/leaderboards/interest/")
    assert "/accounts/login/" in page.url
    screenshot(page, "login")
    signed_in("ingest")
    # Fetched, not opened: Chromium logs every 4xx page load as a console error, which the fixture refuses.
    for url in ["/", "/leaderboards/interest/", f"/members/{community['paula'].pk}/"]:
        assert page.request.get(url).status == 403, url
    assert page.request.get("/").text().count("Not allowed") >= 1


def test_the_pages_fit_a_phone(page, signed_in, community):
    signed_in("admin", username="root")
    page.set_viewport_size({"width": 390, "height": 844})
    for name, url in [("dashboard", "/"), ("leaderboard", "/leaderboards/influence/"),
                      ("member", f"/members/{community['paula'].pk}/")]:
        page.goto(url)
        # The page itself never scrolls sideways: wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1, name
        screenshot(page, f"phone-{name}")
