"""load_demo: a realistic, deterministic community; running it twice adds nothing; scores are computed."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from community_scoring.models import Action, InterestScore, Member, ScoreSnapshot

pytestmark = pytest.mark.django_db


def test_load_demo_small_community_is_idempotent_and_scored():
    out = StringIO()
    call_command("load_demo", "--members", "40", stdout=out)
    assert "added 40 members" in out.getvalue()
    actions = Action.objects.filter(source="demo")
    n = actions.count()
    assert n > 1500
    types = dict(actions.values_list("action_type").annotate(n=Count("id")))
    assert {"question", "answer", "comment", "vote_up", "follow", "read", "poll_response", "share"} <= set(types)
    assert actions.filter(target_member__isnull=False).exclude(target_member=F("member")).count() > n / 3
    assert actions.filter(action_type="answer").exclude(text="").count() == types["answer"]
    assert set(Member.objects.values_list("persona", flat=True)) <= {
        "developer", "marketer", "manager", "data-scientist", "designer"}
    assert InterestScore.objects.count() == 40
    assert InterestScore.objects.exclude(stage="visitor").exists()
    assert ScoreSnapshot.objects.count() == 40 * 121

    again = StringIO()
    call_command("load_demo", "--members", "40", stdout=again)
    assert "added 0 members, 0 contents, 0 actions" in again.getvalue()
    assert Action.objects.filter(source="demo").count() == n
