"""load_demo: a realistic, deterministic community; running it twice adds nothing; scores are computed."""
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from community_scoring.management.commands.load_demo import demo_load, generate
from community_scoring.models import Action, Content, InterestScore, Member, ScoreSnapshot

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


def test_every_generated_action_is_stored_as_the_generator_describes_it():
    """What the old loader wrote row by row, now through the door: same actors, targets (the content's author
    unless a member is named), topics (the content's, else the action's own), and each content by its creator."""
    now = timezone.now()
    demo_load(members=20, now=now)
    demo = generate(members=20, seed=7, now=now)
    stored = {a.external_event_id: a for a in Action.objects.filter(source="demo").select_related(
        "member", "target_member", "target_content__author")}
    assert set(stored) == {a["id"] for a in demo.actions}
    made = {c.external_id: c for c in Content.objects.filter(source="demo").select_related("author")}

    def member_id(i):
        return demo.members[i]["id"]

    for a in demo.actions:
        action = stored[a["id"]]
        assert (action.member.external_id, action.action_type_id, action.occurred_at, action.text) == (
            member_id(a["member"]), a["type"], a["at"], a["text"])
        target = demo.contents[a["content"]] if a["content"] is not None else None
        if target is None:
            assert action.target_content is None and action.topic == a["topic"]
        else:
            assert (action.target_content.external_id, action.target_content.author.external_id, action.topic) == (
                target["id"], member_id(target["author"]), target["topic"])
        who = a["target"] if a["target"] is not None else (target["author"] if target else None)
        assert (action.target_member.external_id if action.target_member else None) == (
            member_id(who) if who is not None else None)
        if a["made"] is not None:
            content = demo.contents[a["made"]]
            assert (made[content["id"]].author, made[content["id"]].kind, made[content["id"]].topic) == (
                action.member, content["kind"], content["topic"])
