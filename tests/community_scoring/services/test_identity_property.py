"""Merging and unmerging members leave every score equal to a recompute from the log, and count each action once,
whatever the interleaving of ingest batches, merges and unmerges (services.identity)."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.models import Action, InterestBucket, InterestScore, Member
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.identity import member_unmerge, members_merge
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from tests.community_scoring.services.interest_helpers import T0, install_test_config
from tests.community_scoring.store.test_backend_parity import valued

IDENTITIES = [("a", "m0"), ("a", "m1"), ("b", "m0"), ("b", "m2"), ("c", "m3")]
TYPES = ["answer", "vote_up", "comment", "follow", "read"]

event = st.tuples(st.integers(0, 4), st.sampled_from(TYPES), st.floats(0, 30, allow_nan=False), st.integers(-1, 4))
step = st.one_of(
    st.tuples(st.just("events"), st.lists(event, min_size=1, max_size=8)),
    st.tuples(st.just("merge"), st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just("unmerge"), st.integers(0, 4)),
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=10))
def test_merges_and_unmerges_equal_a_recompute_and_count_each_action_once(steps):
    with transaction.atomic():
        install_test_config()
        pk = [Member.objects.create(source=s, external_id=e, persona="developer" if i == 3 else "").pk
              for i, (s, e) in enumerate(IDENTITIES)]
        n = 0
        for kind, *args in steps:
            if kind == "events":
                batch = []
                for actor, action_type, day, target in args[0]:
                    n += 1
                    source, external_id = IDENTITIES[actor]
                    # A target on another source is named by an event of its own source: ids are per source.
                    named = IDENTITIES[target] if target >= 0 and IDENTITIES[target][0] == source else None
                    batch.append(EventIn(source=source, event_id=f"e{n}", type=action_type,
                                         occurred_at=T0 + timedelta(days=day), member=MemberIn(external_id),
                                         target_member=MemberIn(named[1]) if named else None))
                assert {r.status for r in actions_ingest(events=batch)} == {"created"}
            elif kind == "merge":
                members_merge(into=pk[args[0]], others=[pk[args[1]]])
            elif Member.objects.filter(pk=pk[args[0]], merged_into__isnull=False).exists():
                member_unmerge(identity=pk[args[0]])

        people = {m.pk: m.merged_into_id or m.pk for m in Member.objects.all()}
        # The log: every action is its identity's member's, and its target's likewise.
        for a in Action.objects.all():
            assert a.member_id == people[a.identity_id or a.member_id]
            if a.target_member_id is not None:
                assert a.target_member_id == people[a.target_identity_id or a.target_member_id]
        # Only members carry scores, and each action sits in exactly one actor bucket.
        assert set(InterestScore.objects.values_list("member_id", flat=True)) <= set(people.values())
        acted = sum(InterestBucket.objects.filter(received=False).values_list("count", flat=True))
        assert acted == Action.objects.exclude(target_member_id=F("member_id")).count()

        when = T0 + timedelta(days=40)
        half_lives = dict.fromkeys(people, 10)  # the developers' rule set inherits the default half-life
        incremental = valued(when, half_lives)
        interest_recompute(now=when)
        reference = valued(when, half_lives)
        for member_id, ref in reference.items():
            engagement, topics, buckets, fit, last = incremental.get(member_id, (0.0, {}, {}, ref[3], None))
            assert engagement == pytest.approx(ref[0], rel=1e-6, abs=1e-9)
            assert buckets == ref[2]
            assert (fit, last) == (ref[3], ref[4])
        transaction.set_rollback(True)
