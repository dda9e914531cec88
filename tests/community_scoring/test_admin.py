"""The interest admin: pages render, config edits record versions and queue recomputes, recompute now."""
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from community_scoring.models import ConfigVersion, InterestPending, InterestScore, RecomputeJob, Rule, RuleSet, Stage
from community_scoring.selectors import interest as interest_selectors
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["member", "action", "actiontype", "ruleset", "stage", "configversion",
                                   "recomputejob", "interestscore", "stagetransition", "interestpending"])
def test_changelists_render(admin_client, model):
    member = MemberFactory()
    record(member, "answer")
    response = admin_client.get(reverse(f"admin:community_scoring_{model}_changelist"), {"q": "x"})
    assert response.status_code == 200


def test_member_page_and_read_only_actions(admin_client):
    member = MemberFactory()
    action, _ = record(member, "answer")
    assert admin_client.get(reverse("admin:community_scoring_member_change", args=[member.pk])).status_code == 200
    assert admin_client.get(reverse("admin:community_scoring_action_add")).status_code == 403


def test_saving_a_stage_records_a_version_and_queues_recompute(admin_client, django_capture_on_commit_callbacks):
    stage = Stage.objects.get(name="engaged")
    url = reverse("admin:community_scoring_stage_change", args=[stage.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"name": "engaged", "position": 1, "min_engagement": 25, "min_fit": 0})
    assert response.status_code == 302
    version = ConfigVersion.objects.get(number=2)
    assert "engaged" in version.note and version.created_by.username == "admin"
    assert [s["min_engagement"] for s in version.snapshot["stages"] if s["name"] == "engaged"] == [25]
    assert RecomputeJob.objects.get(config_version=2).status == "done"


def test_rule_set_inline_validation(admin_client):
    default = RuleSet.objects.get(persona="")
    url = reverse("admin:community_scoring_ruleset_change", args=[default.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    rules = list(default.rules.order_by("pk"))
    data = {"name": default.name, "persona": "", "half_life_days": "-3", "inactivity_days": "60",
            "rules-TOTAL_FORMS": len(rules), "rules-INITIAL_FORMS": len(rules), "rules-MIN_NUM_FORMS": 0,
            "rules-MAX_NUM_FORMS": 1000, "fit_rules-TOTAL_FORMS": 0, "fit_rules-INITIAL_FORMS": 0,
            "fit_rules-MIN_NUM_FORMS": 0, "fit_rules-MAX_NUM_FORMS": 1000}
    for i, rule in enumerate(rules):
        data.update({f"rules-{i}-id": rule.pk, f"rules-{i}-rule_set": default.pk,
                     f"rules-{i}-action_type": rule.action_type_id, f"rules-{i}-points": rule.points,
                     f"rules-{i}-target_points": rule.target_points, f"rules-{i}-daily_cap": rule.daily_cap or ""})
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "half_life_days" in response.context["adminform"].form.errors
    assert ConfigVersion.objects.count() == 1
    data["half_life_days"] = "30"
    data["rules-0-points"] = "7"
    assert admin_client.post(url, data).status_code == 302
    assert ConfigVersion.objects.latest("number").snapshot["rule_sets"][0]["half_life_days"] == 30
    assert Rule.objects.get(pk=rules[0].pk).points == 7


def test_recompute_now_button(admin_client, django_capture_on_commit_callbacks):
    MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:community_scoring_recomputejob_recompute_now"))
    assert response.status_code == 302
    job = RecomputeJob.objects.get()
    assert (job.status, job.total, job.done) == ("done", 1, 1)
    page = admin_client.get(reverse("admin:community_scoring_recomputejob_changelist"))
    assert b"Recompute interest now" in page.content and b"100%" in page.content


def test_actions_waiting_for_their_scorer_are_listed_read_only(admin_client):
    row = InterestPending.objects.create(action_ids=[11, 12, 13], partition=1, partitions=2)
    url = reverse("admin:community_scoring_interestpending_changelist")
    page = admin_client.get(url).content.decode()
    assert '<td class="field-action_count">3</td>' in page and '<td class="field-partition">1</td>' in page
    assert admin_client.get(reverse("admin:community_scoring_interestpending_add")).status_code == 403
    admin_client.post(reverse("admin:community_scoring_interestpending_delete", args=[row.pk]), {"post": "yes"})
    assert InterestPending.objects.filter(pk=row.pk).exists()  # only a scorer removes a row


def test_set_aside_rows_show_their_error_and_an_admin_queues_them_again(admin_client, client):
    from django.contrib.auth.models import Permission, User
    from django.utils import timezone

    aside = InterestPending.objects.create(action_ids=[7], partition=0, partitions=1, failed_at=timezone.now(),
                                           error="OverflowError: int too large to convert to float")
    waiting = InterestPending.objects.create(action_ids=[8], partition=0, partitions=1)
    url = reverse("admin:community_scoring_interestpending_changelist")
    assert "OverflowError: int too large to convert to float" in admin_client.get(url).content.decode()

    # A staff user who may only view the queue is not offered the retry, and cannot post it.
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_interestpending"))
    client.force_login(viewer)
    assert "Retry scoring" not in client.get(url).content.decode()
    client.post(url, {"action": "retry", "_selected_action": [aside.pk]})
    assert InterestPending.objects.get(pk=aside.pk).error != ""

    page = admin_client.post(url, {"action": "retry", "_selected_action": [aside.pk, waiting.pk]}, follow=True)
    assert "1 set-aside row(s) queued again" in page.content.decode()
    aside.refresh_from_db()
    assert (aside.error, aside.failed_at) == ("", None)


# --- interest valued now (issue 15): the stored stage and score lag decay -------------------------------------

NOW = T0 + timedelta(days=100)


@pytest.fixture
def decayed(monkeypatch):
    """Default rule set: half-life 10 days. Stages: engaged >= 20, MQL >= 50 with fit >= 20. Both rows were stored as
    MQL; "faded" was valued 10 days ago (60 / 2 = 30 now: engaged), "fresh" now."""
    monkeypatch.setattr(interest_selectors, "valued_now", lambda: NOW)
    install_test_config()
    members = {}
    for name, days_ago in (("faded", 10), ("fresh", 0), ("faded too", 10), ("fresh too", 0)):
        members[name] = MemberFactory(source="admin", external_id=name, display_name=name)
        InterestScore.objects.create(member=members[name], engagement=60, fit=25, score=85, stage="MQL",
                                     ref_time=NOW - timedelta(days=days_ago), rank_key=85)
    MemberFactory(source="admin", external_id="unscored", display_name="unscored")
    return members


def cells(page, column):
    """{member name: the column's cell} of a member changelist."""
    text = page.content.decode()
    rows = re.findall(r'<tr>.*?</tr>', text, flags=re.DOTALL)
    out = {}
    for row in rows:
        name = re.search(r'<th class="field-__str__"><a [^>]*>([^<]*)</a>', row)
        value = re.search(rf'<td class="field-{column}">([^<]*)</td>', row)
        if name and value:
            out[name.group(1)] = value.group(1)
    return out


def test_the_member_list_shows_and_filters_interest_valued_now(admin_client, decayed,
                                                                django_assert_max_num_queries):
    url = reverse("admin:community_scoring_member_changelist")
    page = admin_client.get(url)
    assert cells(page, "stage") == {"faded": "engaged", "fresh": "MQL", "faded too": "engaged", "fresh too": "MQL",
                                    "unscored": "-"}
    assert cells(page, "interest_score") == {"faded": "55.0", "fresh": "85.0", "faded too": "55.0",
                                             "fresh too": "85.0", "unscored": "-"}
    assert "Stage (now)" in page.content.decode() and "Interest (now)" in page.content.decode()

    def listed(stage):
        response = admin_client.get(url, {"stage": stage})
        assert response.status_code == 200
        return sorted(m.external_id for m in response.context["cl"].result_list)

    assert listed("MQL") == ["fresh", "fresh too"]
    assert listed("engaged") == ["faded", "faded too"]
    assert listed("visitor") == []

    # The page is valued under one configuration, not one per row: twice the rows, no more queries.
    with CaptureQueriesContext(connection) as five:
        admin_client.get(url)
    for i in range(5):
        member = MemberFactory(source="admin", external_id=f"more {i}", display_name=f"more {i}")
        InterestScore.objects.create(member=member, engagement=60, fit=25, score=85, stage="MQL", ref_time=NOW)
    with django_assert_max_num_queries(len(five.captured_queries)):
        assert len(admin_client.get(url).context["cl"].result_list) == 10


def test_the_score_table_shows_the_rows_as_stored_and_says_so(admin_client, decayed):
    page = admin_client.get(reverse("admin:community_scoring_interestscore_changelist"), {"stage__exact": "MQL"})
    text = page.content.decode()
    assert page.status_code == 200 and len(page.context["cl"].result_list) == 4
    for label in ("Stored score", "Stored engagement", "Stored stage", "By stored stage"):
        assert label in text
    assert text.count('<td class="field-stored_stage">MQL</td>') == 4
    assert text.count('<td class="field-stored_score">85.00</td>') == 4
