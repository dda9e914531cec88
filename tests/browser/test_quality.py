"""/quality/ in Chromium: a community manager opens it from the nav, sees the honest empty state, picks the
period's end and a persona in the form, reads the figures and charts; ingest gets 403. Screenshots kept."""
import pytest
from django.core.cache import cache

from tests.browser.conftest import screenshot
from tests.community_scoring.outcomes.quality_community import quality_community_build


@pytest.fixture
def quality(transactional_db):
    cache.clear()  # the persona list is cached a minute: earlier tests' members
    return quality_community_build()


def test_empty_state_before_any_outcome(page, login, transactional_db):
    login("marketing")
    page.click("nav >> text=Quality")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Score quality"
    assert page.locator("#quality-empty h2").inner_text() == "No outcomes recorded yet"
    assert page.locator("svg.chart").count() == 0
    screenshot(page, "quality-empty")


def test_a_community_manager_reads_the_report(page, login, quality):
    login("community_manager")
    page.click("nav >> text=Quality")
    page.wait_for_load_state()
    assert page.locator("nav a[aria-current=page]").inner_text() == "Quality"
    page.fill("input[name=end]", "2026-05-31")
    page.fill("input[name=within_days]", "30")
    page.select_option("select[name=period]", "90d")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "end=2026-05-31" in page.url
    assert page.locator("#figure-auc .big").inner_text() == "0.58"
    assert page.locator("#figure-mql_precision .big").inner_text() == "67%"
    assert page.locator("#figure-mql_to_sql .big").inner_text() == "75%"
    assert page.locator("#figure-median_days .note").inner_text().endswith("within 8.0 days.")
    assert page.locator("svg.chart").count() == 3
    assert page.locator("svg.chart line.reference").count() == 1
    assert page.locator("script").count() == 0  # server-drawn charts: no script at all
    screenshot(page, "quality")
    page.select_option("select[name=persona]", "developer")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "persona=developer" in page.url and "end=2026-05-31" in page.url
    assert page.locator("#population").inner_text().startswith("2 members had acted by May 2")
    screenshot(page, "quality-developer")


def test_ingest_gets_403(page, signed_in, transactional_db):
    signed_in("ingest")
    response = page.goto("/quality/")
    assert response.status == 403
