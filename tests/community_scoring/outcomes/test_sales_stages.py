"""Sales-driven stages: the pure rule (every order of arrival gives one answer), and as stored beside the score
stage: moves recorded in the stage history and announced, never touched by scoring, recompute, decay or
inactivity, cleared by a rejection with the reason kept."""
from datetime import timedelta
from itertools import permutations

import pytest

from community_scoring.models import InterestScore, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.intake import outcomes_delete, outcomes_record
from community_scoring.scoring.sales_stages import (
    ADVANCES, CLEARS, SALES_TYPES, OutcomeFact, SalesStage, sales_stage_of,
)
from community_scoring.services.inactivity import interest_inactivity_apply
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.snapshots import interest_snapshot_take
from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.community_scoring.outcomes.conftest import T, days, engaged_member, outcome
from tests.community_scoring.services.interest_helpers import T0, record


def fact(kind, day, reason=""):
    return OutcomeFact(kind, T + days(day), reason, ("crm", f"{kind}-{day}"))


# ---- the rule ----------------------------------------------------------------------------------------------------

def test_the_rule_covers_every_outcome_type_but_custom_conversions():
    assert set(Outcome.Type.values) - SALES_TYPES == {"converted"}
    assert ADVANCES == {"sales_accepted": "SQL", "sql": "SQL", "opportunity": "opportunity", "won": "customer"}
    assert CLEARS == {"sales_rejected", "lost", "churned"}


@pytest.mark.parametrize("kind, stage", [("sales_accepted", "SQL"), ("sql", "SQL"), ("opportunity", "opportunity"),
                                         ("won", "customer"), ("converted", ""), ("lost", ""), ("churned", "")])
def test_one_outcome(kind, stage):
    assert sales_stage_of([fact(kind, 0)]).stage == stage


def test_no_outcomes_no_sales_stage():
    assert sales_stage_of([]) == SalesStage()


def test_a_stage_never_moves_back_on_an_earlier_step():
    # won on day 1, then a (re-)qualification on day 2: still a customer, decided by the win.
    assert sales_stage_of([fact("won", 1), fact("sql", 2)]) == SalesStage("customer", "won", "", T + days(1))


def test_rejection_clears_and_keeps_its_reason_and_a_later_acceptance_counts_again():
    rejected = sales_stage_of([fact("sql", 1), fact("sales_rejected", 2, "no budget")])
    assert rejected == SalesStage("", "sales_rejected", "no budget", T + days(2))
    again = sales_stage_of([fact("sql", 1), fact("sales_rejected", 2, "no budget"), fact("sales_accepted", 3)])
    assert again.stage == "SQL" and again.outcome == "sales_accepted"


def test_lost_and_churned_clear_even_a_customer():
    assert sales_stage_of([fact("won", 1), fact("churned", 2, "moved to a rival")]).stage == ""
    assert sales_stage_of([fact("opportunity", 1), fact("lost", 2, "price")]).reason == "price"


def test_every_order_of_arrival_gives_the_same_stage():
    history = [fact("sql", 1), fact("opportunity", 2), fact("lost", 3, "timing"), fact("sales_accepted", 4),
               fact("converted", 5), fact("sql", 6)]
    # In time order: SQL, opportunity, cleared (lost), SQL again (day 4); converted and the day-6 sql change nothing.
    expected = SalesStage("SQL", "sales_accepted", "", T + days(4))
    assert {sales_stage_of(order) for order in permutations(history)} == {expected}


def test_outcomes_at_the_same_moment_are_ordered_by_source_and_id_not_arrival():
    a = OutcomeFact("sql", T, "", ("crm", "a"))
    b = OutcomeFact("sales_rejected", T, "dup lead", ("crm", "b"))
    assert sales_stage_of([a, b]) == sales_stage_of([b, a]) == SalesStage("", "sales_rejected", "dup lead", T)


# ---- as stored -----------------------------------------------------------------------------------------------------

def sales(member):
    return InterestScore.objects.values_list("stage", "sales_stage", "sales_stage_outcome", "sales_stage_reason").get(
        member=member)


def moves(member):
    return list(StageTransition.objects.filter(member=member).exclude(reason="action").order_by("occurred_at", "id")
                .values_list("from_stage", "to_stage", "reason", "detail"))


def test_sql_sets_the_sales_stage_beside_the_score_stage_and_records_the_move(config):
    ada = engaged_member(external_id="ada")
    (result,) = outcomes_record(outcomes=[outcome("o-1", "sql", external_id="ada", source="forum")])
    assert result.status == "created"
    assert sales(ada) == ("engaged", "SQL", "sql", "")
    assert moves(ada) == [("engaged", "SQL", "sql", "")]
    assert StageTransition.objects.get(member=ada, reason="sql").occurred_at == T


def test_late_and_out_of_order_outcomes_give_the_stage_orderly_ones_give(config):
    ada = engaged_member(external_id="ada")
    bob = engaged_member(external_id="bob")
    history = [("sql", 1, ""), ("opportunity", 2, ""), ("won", 3, "")]
    for i, (kind, day, why) in enumerate(history):  # ada: in order
        outcomes_record(outcomes=[outcome(f"a-{i}", kind, at=T + days(day), external_id="ada", source="forum")])
    for i, (kind, day, why) in reversed(list(enumerate(history))):  # bob: newest first
        outcomes_record(outcomes=[outcome(f"b-{i}", kind, at=T + days(day), external_id="bob", source="forum")])
    assert sales(ada)[1] == sales(bob)[1] == "customer"
    assert moves(ada) == [("engaged", "SQL", "sql", ""), ("SQL", "opportunity", "opportunity", ""),
                          ("opportunity", "customer", "won", "")]
    assert moves(bob) == [("engaged", "customer", "won", "")]  # the late sql and opportunity moved nothing


def test_rejection_returns_the_member_to_the_score_stage_with_the_reason_kept(config):
    ada = engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome("o-1", "sales_accepted", at=T, external_id="ada", source="forum"),
                              outcome("o-2", "sales_rejected", at=T + days(1), reason="No budget this year",
                                      external_id="ada", source="forum")])
    assert sales(ada) == ("engaged", "", "sales_rejected", "No budget this year")
    assert moves(ada) == [("engaged", "SQL", "sales_accepted", ""),
                          ("SQL", "engaged", "sales_rejected", "No budget this year")]


def test_a_custom_conversion_moves_no_stage(config):
    ada = engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome("o-1", "converted", value="trial", external_id="ada", source="forum")])
    assert sales(ada) == ("engaged", "", "", "")
    assert moves(ada) == []


def test_scoring_recompute_decay_and_inactivity_never_touch_the_sales_stage(config):
    ada = engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome("o-1", "opportunity", reason="demo went well", external_id="ada",
                                      source="forum")])
    record(ada, "answer", day=60)  # scored by the store's SQL: 32 points, still engaged
    interest_recompute(member_ids=[ada.pk], now=T0 + timedelta(days=60.5))  # about 29 points: engaged
    assert sales(ada) == ("engaged", "opportunity", "opportunity", "demo went well")
    last = InterestScore.objects.get(member=ada).last_activity_at
    # 30 idle days: the ~29 points have decayed to under 4 and the penalty (-10) drops the score stage to visitor.
    assert interest_inactivity_apply(now=last + timedelta(days=31)) == 1
    assert sales(ada) == ("visitor", "opportunity", "opportunity", "demo went well")
    assert StageTransition.objects.filter(member=ada, from_stage="engaged", to_stage="visitor").exists()
    interest_snapshot_take(now=last + timedelta(days=365))  # the daily decay pass
    assert sales(ada) == ("visitor", "opportunity", "opportunity", "demo went well")
    interest_recompute(member_ids=[ada.pk], now=last + timedelta(days=365))
    assert sales(ada)[1:] == ("opportunity", "opportunity", "demo went well")


def test_a_member_without_a_score_gets_a_score_row_for_the_sales_stage(config):
    from tests.factories import MemberFactory

    cara = MemberFactory(source="forum", external_id="cara")
    outcomes_record(outcomes=[outcome("o-1", "sql", external_id="cara", source="forum")])
    assert sales(cara) == ("visitor", "SQL", "sql", "")
    assert moves(cara) == [("visitor", "SQL", "sql", "")]


def test_moves_are_announced_as_stage_changed_webhooks(config):
    WebhookSubscription.objects.create(name="crm", url="https://crm.example.com/hook", events=["stage_changed"],
                                       secret="s" * 20)
    engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome("o-1", "sql", external_id="ada", source="forum"),
                              outcome("o-2", "lost", at=T + days(1), reason="price", external_id="ada",
                                      source="forum")])
    payloads = [d.payload for d in WebhookDelivery.objects.filter(event="stage_changed").order_by("id")
                if d.payload["reason"] in ("sql", "lost")]
    assert [(p["from"], p["to"], p["reason"], p["external_id"]) for p in payloads] == [
        ("engaged", "SQL", "sql", "ada"), ("SQL", "engaged", "lost", "ada")]


def test_deleting_an_outcome_re_derives_the_stage(config):
    ada = engaged_member(external_id="ada")
    results = outcomes_record(outcomes=[outcome("o-1", "sql", external_id="ada", source="forum"),
                                        outcome("o-2", "won", at=T + days(2), external_id="ada", source="forum")])
    assert sales(ada)[1] == "customer"
    assert outcomes_delete(outcome_ids=[results[1].outcome.pk]) == 1
    assert sales(ada)[1:3] == ("SQL", "sql")
    assert moves(ada)[-1] == ("customer", "SQL", "outcome_deleted", "")


def test_decay_drops_the_score_stage_but_not_the_sales_stage(config):
    ada = engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome("o-1", "sql", external_id="ada", source="forum")])
    # 24 points a year later (half-life 10 days): 24 * 2^-36.5, nothing; the daily pass moves ada to visitor.
    interest_snapshot_take(now=T0 + timedelta(days=59 + 365))
    assert sales(ada) == ("visitor", "SQL", "sql", "")
    assert moves(ada) == [("engaged", "SQL", "sql", ""), ("engaged", "visitor", "decay", "")]


def test_a_batch_records_each_move_as_if_its_outcomes_came_one_by_one(config):
    ada = engaged_member(external_id="ada")
    outcomes_record(outcomes=[outcome(f"o-{i}", kind, at=T + days(i), reason=why, external_id="ada", source="forum")
                              for i, (kind, why) in enumerate([("sql", ""), ("opportunity", "demo"), ("won", "")])])
    assert moves(ada) == [("engaged", "SQL", "sql", ""), ("SQL", "opportunity", "opportunity", "demo"),
                          ("opportunity", "customer", "won", "")]
    # A late sales_accepted (before everything) and an ignored conversion: no move.
    outcomes_record(outcomes=[outcome("o-late", "sales_accepted", at=T - days(5), external_id="ada", source="forum"),
                              outcome("o-conv", "converted", value="upgrade", external_id="ada", source="forum")])
    assert len(moves(ada)) == 3 and sales(ada)[1] == "customer"
