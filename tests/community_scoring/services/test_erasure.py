"""Member erasure (services.erasure): personal data and texts gone everywhere, sentiment kept, nobody else's scores
move, the door's rule for the erased identity when the source sends it again, and idempotency.

Every personal value planted below carries the marker "zq" (names, emails, ids, texts, titles, metadata, the
outcome reason, the user account), so "gone from every table" is checked by scanning every text and JSON column of
every model for it.
"""
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.functions import Cast
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from community_scoring.influence.models import InfluenceScore, TextSentiment
from community_scoring.influence.recompute import influence_recompute
from community_scoring.models import Action, Content, ErasedIdentity, InterestScore, Member, MemberErasure
from community_scoring.outcomes.models import Outcome
from community_scoring.services.erasure import ERASED_PREFIX, member_erase
from community_scoring.services.events import CREATED, REJECTED, ContentIn, EventIn, MemberIn
from community_scoring.services.identity import IdentityError, member_unmerge, members_merge
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.interest import stage_changes_announce
from community_scoring.services.recompute import interest_recompute
from community_scoring.store.base import StageChange
from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription
from forum_integration.models import FORUM_SOURCE, PollChoice, PollResponse, Post
from forum_integration.services import forum
from tests.factories import MemberFactory
from tests.forum_integration.helpers import T

pytestmark = pytest.mark.django_db

MARK = "zq"
NOW = T + timedelta(days=3)
SOURCE = "forum-a"
ADA = MemberIn(external_id="forum-ada-zq", email="ada.zq@example.com", email_verified=True, name="Ada Zqlovelace",
               crm_id="CRM-ZQ-1", persona="developer", attributes={"job_title": "chief zq engineer"})
ADA_CRM = MemberIn(external_id="crm-ada-zq", crm_id="CRM-ZQ-1", name="A. Zqlovelace")
ADA_TEXTS = {"e1": "I love this product, it is wonderful! zq", "e6": "This is terrible and awful, zq.",
             "e7": "Pretty good overall zq", "e8": "Bad poll, I am disappointed zq"}


def ev(event_id, type_, actor, *, source=SOURCE, minutes=0, target=None, text="", content=None, target_content=None,
       metadata=None):
    return EventIn(source=source, event_id=event_id, type=type_, occurred_at=T + timedelta(minutes=minutes),
                   member=actor if isinstance(actor, MemberIn) else MemberIn(external_id=actor),
                   target_member=MemberIn(external_id=target) if isinstance(target, str) else target,
                   text=text, content=content, target_content=target_content, metadata=metadata)


def ingest(*events):
    return actions_ingest(events=list(events), now=NOW)


@pytest.fixture
def town():
    """Ada (two identities: a forum one and a CRM one, merged by crm_id) among bob, cy, dee and eve, with texts both
    ways, a follow graph, a poll answer with metadata, an outcome, a linked user and webhook deliveries about her."""
    question = ContentIn(external_id="q1", title="Zq secret plans", topic="api", author_external_id=ADA.external_id)
    poll = ContentIn(external_id="p1", title="Which API?", topic="api", author_external_id="bob")
    results = ingest(
        ev("e1", "question", ADA, text=ADA_TEXTS["e1"], content=question),
        ev("e2", "answer", "bob", minutes=1, target=ADA.external_id, text="Great question, happy to help!",
           target_content=ContentIn(external_id="q1", author_external_id=ADA.external_id)),
        ev("e3", "vote_up", "cy", minutes=2, target=ADA.external_id,
           target_content=ContentIn(external_id="q1", author_external_id=ADA.external_id)),
        ev("e4", "follow", "dee", minutes=3, target=ADA.external_id),
        ev("e5", "follow", ADA, minutes=4, target="bob"),
        ev("e6", "comment", ADA, minutes=5, target="cy", text=ADA_TEXTS["e6"]),
        ev("e8", "poll_response", ADA, minutes=7, text=ADA_TEXTS["e8"], target_content=poll,
           metadata={"nps": 2, "ip": "10.0.0.zq"}),
        ev("e9", "follow", "bob", minutes=8, target="cy"),
        ev("e10", "follow", "cy", minutes=9, target="bob"),
        ev("e11", "comment", "eve", minutes=10, target="bob", text="Nice, thanks"),
        ev("e12", "follow", "eve", minutes=11, target="dee"),
    )
    results += ingest(ev("e7", "question", ADA_CRM, source="crm", minutes=6, text=ADA_TEXTS["e7"],
                         content=ContentIn(external_id="cq", title="Zq from the CRM",
                                           author_external_id=ADA_CRM.external_id)))
    assert all(r.status == CREATED for r in results), results
    ada = Member.objects.get(source=SOURCE, external_id=ADA.external_id)
    crm = Member.objects.get(source="crm", external_id=ADA_CRM.external_id)
    assert crm.merged_into_id == ada.pk
    user = get_user_model().objects.create_user(username="ada_zq", email="ada.zq@example.com", first_name="Ada",
                                                last_name="Zqlovelace", password="zq-password-long")
    ada.user = user
    ada.save(update_fields=["user"])
    Outcome.objects.create(source="crm", outcome_id="o1", type="won", occurred_at=T, member=ada, identity=crm,
                           reason="zq: told sales about a private matter", value="1200", amount=1200)
    subscription = WebhookSubscription.objects.create(name="crm", url="https://crm.example/hook",
                                                      events=["stage_changed"], secret="s" * 32)
    about_ada = {"member_id": ada.pk, "external_id": ADA.external_id, "email": ADA.email, "to": "engaged"}
    bob = Member.objects.get(source=SOURCE, external_id="bob")
    deliveries = {
        "pending": WebhookDelivery.objects.create(subscription=subscription, event="stage_changed", payload=about_ada),
        "sent": WebhookDelivery.objects.create(subscription=subscription, event="stage_changed", payload=about_ada,
                                               status=WebhookDelivery.Status.SUCCEEDED),
        "bob": WebhookDelivery.objects.create(subscription=subscription, event="stage_changed",
                                              payload={"member_id": bob.pk, "external_id": "bob", "email": ""}),
    }
    others = {name: Member.objects.get(source=SOURCE, external_id=name) for name in ("bob", "cy", "dee", "eve")}
    return {"ada": ada, "crm": crm, "user": user, "deliveries": deliveries, "others": others}


def _scores(members):
    """Interest and influence of these members as a recompute and an influence run at NOW give them."""
    interest_recompute(now=NOW)
    run = influence_recompute(ref_time=NOW)
    assert run.status == "done"
    interest = {m.pk: tuple(InterestScore.objects.filter(member=m).values_list(
        "engagement", "fit", "score", "stage", "primary_topic").first() or ()) for m in members}
    influence = {s.member_id: s for s in InfluenceScore.objects.filter(run=run, member__in=members)}
    return interest, influence


def _personal_rows(marker: str) -> list[str]:
    """Every (model.field) holding `marker` in any text or JSON column of any table."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if field.name == "password":  # a hash (random characters), never the text itself
                continue
            if isinstance(field, (models.CharField, models.TextField)):
                hits = model._default_manager.filter(**{f"{field.name}__icontains": marker})
            elif isinstance(field, models.JSONField):
                hits = model._default_manager.annotate(_text=Cast(field.name, models.TextField())).filter(
                    _text__icontains=marker)
            else:
                continue
            if hits.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def test_personal_data_and_texts_are_gone_from_every_table(town):
    assert len(_personal_rows(MARK)) >= 10  # the scan sees what was planted
    erasure = member_erase(member_id=town["crm"].pk, requested_by="admin", now=NOW)  # an identity's id: the person
    assert _personal_rows(MARK) == []
    assert erasure.member_id == town["ada"].pk
    assert erasure.identity_ids == sorted([town["ada"].pk, town["crm"].pk])
    counts = erasure.counts
    assert (counts["identities"], counts["action_texts"], counts["content_titles"], counts["outcome_reasons"],
            counts["users"], counts["webhook_deliveries"]) == (2, 4, 2, 1, 1, 2)
    assert counts["action_event_ids"] == 5 and counts["action_metadata"] == 1
    for shell in Member.objects.filter(pk__in=erasure.identity_ids):
        assert shell.external_id.startswith(ERASED_PREFIX) and shell.erased_at == NOW
        assert (shell.email, shell.display_name, shell.crm_id, shell.persona, shell.attributes, shell.user_id) == (
            "", "", "", "", {}, None)
    # The actions stay, anonymous: the poll answer keeps its rating (explicit sentiment), not the rest.
    assert Action.objects.filter(member=town["ada"]).count() == 5
    assert Action.objects.get(member=town["ada"], action_type="poll_response").metadata == {"nps": 2}
    user = get_user_model().objects.get(pk=town["user"].pk)
    assert not user.is_active and not user.has_usable_password() and user.email == ""
    outcome = Outcome.objects.get()
    assert outcome.member_id == town["ada"].pk and outcome.value == "1200" and outcome.reason == ""
    # Deliveries about her keep no email or id; the unsent one is cancelled; bob's is left alone.
    pending, sent, bob = (WebhookDelivery.objects.get(pk=d.pk) for d in town["deliveries"].values())
    assert pending.status == "failed" and "erased" in pending.last_error and pending.payload["email"] == ""
    shell = Member.objects.get(pk=town["ada"].pk)
    assert sent.status == "succeeded"
    assert (sent.payload["external_id"], sent.payload["email"]) == (shell.external_id, "")
    assert bob.status == "pending" and bob.payload == {"member_id": bob.payload["member_id"], "external_id": "bob",
                                                        "email": ""}
    # The audit keeps ids and counts only.
    assert MemberErasure.objects.get().requested_by == "admin"


def test_other_members_interest_and_influence_do_not_change(town):
    others = list(town["others"].values())
    interest_before, influence_before = _scores(others)
    assert all(interest_before.values()) and len(influence_before) == 4
    # Ada's texts reach bob's and cy's received sentiment; her follow and edges reach their centrality.
    assert influence_before[town["others"]["cy"].pk].received_count == 1

    member_erase(member_id=town["ada"].pk, requested_by="admin", now=NOW)
    interest_after, influence_after = _scores(others)

    assert interest_after == interest_before
    fields = ("centrality", "influence", "influence_base", "percentile", "centrality_percentile", "reach_percentile",
              "sentiment", "sentiment_mean", "received_sentiment_mean")
    for member_id, before in influence_before.items():
        after = influence_after[member_id]
        for name in fields:
            assert getattr(after, name) == pytest.approx(getattr(before, name), abs=1e-9), name
        for name in ("rank", "in_degree", "sources", "reach", "sentiment_count", "received_count", "is_advocate",
                     "is_detractor"):
            assert getattr(after, name) == getattr(before, name), name


def test_texts_not_scored_yet_are_scored_before_they_are_blanked(town):
    assert not TextSentiment.objects.exists()  # no influence run yet: nothing scored
    member_erase(member_id=town["ada"].pk, requested_by="admin", now=NOW)
    vader = SentimentIntensityAnalyzer()
    kept = {a.pk: a.text for a in Action.objects.filter(member=town["ada"])}
    assert set(kept.values()) == {""}
    scored = dict(TextSentiment.objects.filter(member=town["ada"]).values_list("action_id", "compound"))
    assert sorted(scored.values()) == pytest.approx(sorted(vader.polarity_scores(t)["compound"]
                                                           for t in ADA_TEXTS.values()))
    # The run that follows counts those scores: 4 texts written, the same mean as the texts had.
    run = influence_recompute(ref_time=NOW)
    shell = InfluenceScore.objects.get(run=run, member=town["ada"])
    assert shell.sentiment_count == 4
    assert shell.sentiment_mean == pytest.approx(sum(vader.polarity_scores(t)["compound"]
                                                     for t in ADA_TEXTS.values()) / 4)


def test_events_naming_the_erased_identity_again_follow_the_door_rule(town):
    member_erase(member_id=town["ada"].pk, requested_by="admin", now=NOW)
    shell = Member.objects.get(pk=town["ada"].pk)
    by_her, by_crm_her, by_shell, to_her, on_her_question, duplicate = ingest(
        ev("n1", "comment", ADA, minutes=20, text="zq again"),
        ev("n2", "question", ADA_CRM, source="crm", minutes=20, text="zq"),
        ev("n3", "comment", shell.external_id, minutes=20, text="zq"),
        ev("n4", "follow", "eve", minutes=21, target=MemberIn(external_id=ADA.external_id, name="Ada Zq")),
        ev("n5", "vote_up", "dee", minutes=22, target_content=ContentIn(
            external_id="q1", title="Zq secret plans", author_external_id=ADA.external_id)),
        ev("e1", "question", ADA, text=ADA_TEXTS["e1"]),  # her first event, sent again
    )
    for result in (by_her, by_crm_her, by_shell, duplicate):
        assert result.status == REJECTED and list(result.errors) == ["member.external_id"]
    assert (to_her.status, on_her_question.status) == (CREATED, CREATED)
    assert Action.objects.get(pk=to_her.action_id).target_member_id == shell.pk
    assert Action.objects.get(pk=on_her_question.action_id).target_member_id == shell.pk
    assert Content.objects.get(source=SOURCE, external_id="q1").title == ""
    # Nothing re-created her under her old ids.
    assert not Member.objects.filter(external_id__in=[ADA.external_id, ADA_CRM.external_id]).exists()
    assert ErasedIdentity.objects.count() == 2 and _personal_rows(MARK) == []
    # A content of hers named without its author keeps no title either.
    (result,) = ingest(ev("n6", "vote_up", "bob", minutes=23,
                          target_content=ContentIn(external_id="q1", title="Zq plans, once more")))
    assert result.status == CREATED and Content.objects.get(source=SOURCE, external_id="q1").title == ""


def test_erasing_twice_returns_the_first_record(town):
    first = member_erase(member_id=town["ada"].pk, requested_by="admin", now=NOW)
    again = member_erase(member_id=town["crm"].pk, requested_by="someone else", now=NOW + timedelta(days=1))
    assert again.pk == first.pk and again.counts == first.counts and again.requested_by == "admin"
    assert MemberErasure.objects.count() == 1
    with pytest.raises(Member.DoesNotExist):
        member_erase(member_id=10 ** 9, requested_by="admin")


def test_an_erased_member_is_never_merged_nor_split_nor_announced(town):
    member_erase(member_id=town["ada"].pk, requested_by="admin", now=NOW)
    bob = town["others"]["bob"]
    with pytest.raises(IdentityError) as into:
        members_merge(into=town["ada"].pk, others=[bob.pk])
    assert into.value.field == "into"
    with pytest.raises(IdentityError) as others:
        members_merge(into=bob.pk, others=[town["crm"].pk])
    assert others.value.field == "members"
    with pytest.raises(IdentityError):
        member_unmerge(identity=town["crm"].pk)
    last = WebhookDelivery.objects.order_by("-id").values_list("id", flat=True).first()
    stage_changes_announce([StageChange(town["ada"].pk, "x", "", "visitor", "engaged", 30, 0, "decay", NOW),
                            StageChange(bob.pk, "bob", "", "visitor", "engaged", 30, 0, "decay", NOW)])
    assert [d.payload["member_id"] for d in WebhookDelivery.objects.filter(id__gt=last)] == [bob.pk]


def test_a_member_with_nothing_but_its_row_is_erased_too(db):
    """A member with no actions, no user and nothing else: erased all the same (counts of zero)."""
    member = MemberFactory(email="lone.zq@example.com", display_name="Lone zq")
    erasure = member_erase(member_id=member.pk, requested_by="admin")
    assert erasure.counts["identities"] == 1 and erasure.counts["action_texts"] == 0
    assert _personal_rows(MARK) == []


def test_the_forum_erases_its_own_rows(db):
    user = get_user_model().objects.create_user(username="forum_zq", email="forum.zq@example.com",
                                                password="zq-password-long")
    ada = forum.forum_member_for_user(user=user)
    bob = MemberFactory(source=FORUM_SOURCE)
    api = forum.forum_category_create(name="api")
    question = forum.forum_question_create(author=ada, category=api, title="Zq question title", body="zq body",
                                           created_at=T)
    answer = forum.forum_answer_create(author=bob, question=question, body="An answer", created_at=T)
    poll = forum.forum_poll_create(author=ada, category=api, title="Zq poll", choices=["zq yes", "zq no"],
                                   created_at=T)
    bobs_poll = forum.forum_poll_create(author=bob, category=api, title="Bob's poll", choices=["a", "b"],
                                        created_at=T)
    forum.forum_poll_respond(member=ada, choice=bobs_poll.choices.first(), text="zq my answer", responded_at=T)
    erasure = member_erase(member_id=ada.pk, requested_by="admin")
    assert (erasure.counts["forum_posts"], erasure.counts["forum_poll_choices"],
            erasure.counts["forum_poll_responses"]) == (2, 2, 1)
    assert _personal_rows(MARK) == []
    assert Post.objects.get(pk=answer.pk).body == "An answer" and Post.objects.filter(author=ada).count() == 2
    assert Post.objects.get(pk=answer.pk).content.title == ""  # it copied her question's title
    assert list(PollChoice.objects.filter(poll=poll).values_list("label", flat=True)) == ["option 1", "option 2"]
    assert PollResponse.objects.get(member=ada).text == ""
