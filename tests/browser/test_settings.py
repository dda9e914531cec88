"""The admin's scoring settings in Chromium: change a weight, preview who changes stage, save with a note, restore
the previous version, watch a recompute reach 100%; marketing gets 403; the Django admin's lists scroll."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from community_scoring.models import ConfigVersion, RecomputeJob, Rule
from community_scoring.selectors.config import config_version_latest
from community_scoring.services.config import config_apply
from tests.browser.conftest import screenshot
from tests.community_scoring.services.interest_helpers import record, test_config_snapshot
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)
SAVED = re.compile(r"/settings/scoring/\?job=\d+")  # where a save, a restore or a recompute lands


@pytest.fixture
def community():
    """The round-number configuration, and two members engaged by 3 answers x 8 points = 24 (>= 20)."""
    config_apply(snapshot=test_config_snapshot(), note="test config")
    question = ContentFactory(author=MemberFactory(display_name="Asker"))
    now = timezone.now()
    members = [MemberFactory(display_name=name) for name in ("Ada Lovelace", "Alan Turing")]
    for m in members:
        for i in range(3):
            record(m, "answer", event_id=f"{m.pk}-{i}", occurred_at=now - timedelta(minutes=i), target_content=question)
    return members


def test_admin_previews_saves_and_restores_a_weight(page, signed_in, community):
    signed_in("admin", username="root")
    page.goto("/settings/scoring/")
    assert page.title().startswith("Scoring settings")
    screenshot(page, "settings-scoring")
    first = config_version_latest()

    # change a weight and preview: answers at 5 points leave both members at 15 < 20
    page.fill("#rs-0-rule-answer-points", "5")
    page.click("button[value=preview]")
    preview = page.locator("#preview")
    assert "2 members move engaged -> visitor" in preview.inner_text()
    names = preview.locator("ul.members a")
    assert sorted(names.all_inner_texts()) == ["Ada Lovelace", "Alan Turing"]
    ada = next(m for m in community if m.display_name == "Ada Lovelace")
    assert preview.get_by_role("link", name="Ada Lovelace").get_attribute("href") == f"/members/{ada.pk}/"
    assert page.input_value("#rs-0-rule-answer-points") == "5"  # what was typed is kept
    assert config_version_latest() == first  # a preview writes nothing
    screenshot(page, "settings-scoring-preview")

    # save with a note: a new version, and the recompute it started is followed to 100%
    page.fill("#note", "answers count less")
    page.click("button[value=save]")
    page.wait_for_url(SAVED)
    assert f"Saved as version {first + 1}." in page.inner_text(".messages")
    assert ConfigVersion.objects.get(number=first + 1).note == "answers count less"
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 5
    page.wait_for_function("document.getElementById('recompute-progress').value === 100")
    screenshot(page, "settings-scoring-saved")

    # the history: compare the two versions, then restore the previous one
    page.click("text=History, diff and restore")
    page.wait_for_url("**/settings/scoring/versions/")
    screenshot(page, "settings-versions")
    page.click(f"#restore-v{first}")
    page.wait_for_url(re.compile(r"/versions/diff/\?"))
    rows = page.locator("table.diff tbody tr").all_inner_texts()
    assert any("rule answer: points" in row and "5" in row and "8" in row for row in rows), rows
    screenshot(page, "settings-diff")
    page.fill("#restore-note", "back to 8")
    page.click(f"#restore button:has-text(\"Restore v{first}\")")
    page.wait_for_url(SAVED)
    assert f"Version {first} restored as version {first + 2}." in page.inner_text(".messages")
    assert ConfigVersion.objects.get(number=first + 2).note == f"restore of v{first}: back to 8"
    assert Rule.objects.get(rule_set__persona="", action_type="answer").points == 8
    assert page.input_value("#rs-0-rule-answer-points") == "8"
    page.wait_for_function("document.getElementById('recompute-progress').value === 100")
    screenshot(page, "settings-scoring-restored")


def test_the_bar_follows_a_running_recompute_to_100(page, signed_in, community):
    signed_in("admin", username="root")
    job = RecomputeJob.objects.create(kind="interest", status="running", total=40, done=10)
    page.goto(f"/settings/scoring/?job={job.pk}#recompute")
    bar = page.locator("#recompute-progress")
    assert bar.get_attribute("value") == "25"
    screenshot(page, "settings-recompute-running")
    RecomputeJob.objects.filter(pk=job.pk).update(done=40, status="done")  # the worker finishes
    page.wait_for_function("document.getElementById('recompute-progress').value === 100", timeout=10_000)
    assert "done, 100% (40 of 40 members)" in page.inner_text("#recompute-label")
    screenshot(page, "settings-recompute-done")


def test_errors_are_shown_next_to_their_field(page, signed_in, community):
    signed_in("admin", username="root")
    page.goto("/settings/scoring/")
    page.fill("#inf-damping", "1.5")
    page.fill("#rs-0-rule-answer-daily_cap", "-1")
    page.click("button[value=save]")
    assert page.inner_text("#inf-damping-error") == "must be less than 1"
    assert "greater than 0" in page.inner_text("#rs-0-rule-answer-daily_cap-error")
    assert page.locator("#inf-damping").get_attribute("aria-invalid") == "true"
    screenshot(page, "settings-scoring-errors")


def test_the_page_is_readable_on_a_phone(page, signed_in, community):
    signed_in("admin", username="root")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/settings/scoring/")
    # The settings content fits the phone; its wide tables scroll inside their own boxes. (The site header is
    # base.html's, restyled elsewhere, so it is not measured here.)
    too_wide = page.evaluate("""[...document.querySelectorAll('.settings *')]
        .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > window.innerWidth + 1)
        .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.className)""")
    assert too_wide == []
    scrollers = page.locator(".settings .table-scroll").evaluate_all(
        "boxes => boxes.map(b => b.getBoundingClientRect().right <= window.innerWidth + 1)")
    assert scrollers and all(scrollers)
    screenshot(page, "settings-scoring-phone")


def test_marketing_gets_403(page, signed_in):
    signed_in("marketing")
    response = page.goto("/settings/scoring/")
    assert response.status == 403
    screenshot(page, "settings-scoring-403-marketing")


def test_admin_lists_scroll_instead_of_being_cut_off(page, signed_in, community):
    signed_in("admin", username="root")
    page.set_viewport_size({"width": 700, "height": 800})
    page.goto("/admin/community_scoring/interestscore/")
    assert "." in page.inner_text("#result_list tbody tr td.field-stored_score")
    results = page.locator("#changelist-form .results")
    scroll, client = results.evaluate("e => [e.scrollWidth, e.clientWidth]")
    page_overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert scroll > client, "the table should be wider than the phone-sized window"
    assert page_overflow <= 0, "the table must scroll inside its box, not push the page wider"
    screenshot(page, "admin-interestscore-list")
    member = community[0]
    page.goto(f"/admin/community_scoring/member/{member.pk}/change/")
    assert "InterestScore object" not in page.content()
    screenshot(page, "admin-member-change")
