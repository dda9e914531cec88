"""actions_ingest: the PostgreSQL store gives exactly what the plain Python store (event by event) gives.

The Python backend (what non-PostgreSQL databases use) is the reference: hypothesis generates batches with duplicates, unknown content authors filled in later,
follows, reads and member attribute updates, and both paths must agree on every result, every stored action
and every interest score. Plus idempotency: replaying a batch changes nothing.
"""
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.models import Action, InterestScore, Member
from community_scoring import store
from community_scoring.services.events import ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.store import postgres
from community_scoring.store.python import PythonInterestStore

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="exercises PostgreSQL row locking / synchronous_commit"
)

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
TYPES = ["vote_up", "vote_down", "read", "comment", "answer", "question", "follow", "share", "signup", "unvote"]
_runs = itertools.count()


@st.composite
def events(draw):
    n = draw(st.integers(1, 25))
    out = []
    for _ in range(n):
        kind = draw(st.sampled_from(TYPES))
        actor = draw(st.integers(0, 4))
        attrs = draw(st.none() | st.fixed_dictionaries({"job_title": st.sampled_from(["Engineer", "Manager", "CEO"])}))
        event = dict(event_id=f"e-{draw(st.integers(0, 30))}", type=kind,
                     occurred_at=DAY + timedelta(hours=draw(st.integers(0, 60))),
                     member=MemberIn(external_id=f"u-{actor}", attributes=attrs))
        if kind == "follow":
            event["target_member"] = MemberIn(external_id=f"u-{draw(st.integers(0, 4))}")
        elif kind == "question":
            event["content"] = ContentIn(external_id=f"new-{draw(st.integers(0, 3))}", topic="q")
        elif kind != "signup":
            cid = draw(st.integers(0, 3))
            with_author = draw(st.booleans())
            event["target_content"] = ContentIn(
                external_id=f"c-{cid}", topic=draw(st.sampled_from([None, f"t{cid % 2}"])),
                author_external_id=f"u-{cid}" if with_author else None)
        out.append(event)
    return out


def build(specs, source):
    return [EventIn(source=source, **spec) for spec in specs]


def snapshot(source):
    actions = sorted(
        (a.external_event_id, a.action_type_id, a.member.external_id,
         a.target_member.external_id if a.target_member else None,
         a.target_content.external_id if a.target_content else None, a.topic, a.occurred_at)
        for a in Action.objects.filter(source=source).select_related("member", "target_member", "target_content")
    )
    scores = {
        s.member.external_id: (round(s.engagement, 9), s.ref_time, s.fit, round(s.score, 9), s.stage, s.primary_topic)
        for s in InterestScore.objects.filter(member__source=source).select_related("member")
    }
    members = {m.external_id: (m.attributes, m.email, m.persona) for m in Member.objects.filter(source=source)}
    return actions, scores, members


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=events())
def test_bulk_path_equals_one_by_one(db, monkeypatch, specs):
    run = next(_runs)
    bulk_source, one_source = f"bulk-{run}", f"one-{run}"
    bulk = actions_ingest(events=build(specs, bulk_source))
    with monkeypatch.context() as patch:
        patch.setitem(store.BACKENDS, "postgresql", PythonInterestStore())  # the plain Python backend
        one = actions_ingest(events=build(specs, one_source))
    assert [(r.event_id, r.status, r.errors) for r in bulk] == [(r.event_id, r.status, r.errors) for r in one]
    assert snapshot(bulk_source) == snapshot(one_source)

    again = actions_ingest(events=build(specs, bulk_source))
    assert {r.status for r in again} == {"duplicate"}
    assert snapshot(bulk_source)[:2] == snapshot(one_source)[:2]


def test_results_keep_order_and_in_batch_duplicates_count_once(db):
    spec = dict(type="follow", occurred_at=DAY, member=MemberIn(external_id="a"), target_member=MemberIn(external_id="b"))
    results = actions_ingest(events=[
        EventIn(source="s", event_id="1", **spec),
        EventIn(source="s", event_id="2", **{**spec, "type": "nope"}),
        EventIn(source="s", event_id="1", **spec),
        EventIn(source="s", event_id="3", **{**spec, "occurred_at": DAY.replace(tzinfo=None)}),
    ])
    assert [r.status for r in results] == ["created", "rejected", "duplicate", "rejected"]
    assert results[1].errors == {"type": ["unknown action type 'nope'"]}
    assert results[3].errors == {"occurred_at": ["must include a timezone"]}
    assert Action.objects.filter(source="s").count() == 1
    b = Member.objects.get(source="s", external_id="b")
    assert b.interest.engagement == pytest.approx(1)  # follow received: 1 point, once


def test_persona_comes_from_the_field_or_the_attributes(db):
    actions_ingest(events=[
        EventIn(source="s", event_id="1", type="signup", occurred_at=DAY,
                member=MemberIn(external_id="a", attributes={"persona": "developer"})),
        EventIn(source="s", event_id="2", type="signup", occurred_at=DAY,
                member=MemberIn(external_id="b", persona="marketer", attributes={"persona": "ignored"})),
    ])
    assert Member.objects.get(external_id="a").persona == "developer"
    assert Member.objects.get(external_id="b").persona == "marketer"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_overlapping_batches_store_each_event_once():
    """Two batches racing on the same new members, contents and (half of the) event ids: no error, no double count."""
    import threading

    from django.db import connection as default_connection

    def batch(offset):
        return [EventIn(source="race", event_id=f"e-{offset + i}", type="follow", occurred_at=DAY,
                        member=MemberIn(external_id=f"m-{i % 7}", attributes={"job_title": "Engineer"}),
                        target_member=MemberIn(external_id=f"t-{i % 5}"),
                        target_content=ContentIn(external_id=f"c-{i % 3}", topic="api", author_external_id="t-0"))
                for i in range(200)]

    barrier, errors, results = threading.Barrier(2), [], {}

    def run(name, offset):
        try:
            barrier.wait()
            results[name] = actions_ingest(events=batch(offset))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            default_connection.close()

    threads = [threading.Thread(target=run, args=("a", 0)), threading.Thread(target=run, args=("b", 100))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    created = sum(r.status == "created" for rs in results.values() for r in rs)
    assert created == 300 == Action.objects.filter(source="race").count()
    assert Member.objects.filter(source="race").count() == 7 + 5
    # 300 follows spread over targets t-0..t-4 by i % 5: each received 60, worth 1 point each, capped at 10 a day.
    for k in range(5):
        assert Member.objects.get(source="race", external_id=f"t-{k}").interest.engagement == pytest.approx(10)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_batches_sharing_new_event_ids_in_opposite_orders_do_not_deadlock():
    """Each batch inserts its actions under the action log's unique (source, event id) index; in input order, two
    batches holding the same new ids in opposite orders each waited for the other (a deadlock: 500s)."""
    import threading

    from django.db import connection as default_connection

    errors, results = [], []

    def run(barrier, batch):
        try:
            barrier.wait()
            results.append(actions_ingest(events=batch))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            default_connection.close()

    for round_ in range(5):  # the batches must overlap in time: a few rounds make that near certain
        events = [EventIn(source="race", event_id=f"e-{round_}-{i:04d}", type="comment", occurred_at=DAY,
                          member=MemberIn(external_id=f"m-{i % 3}")) for i in range(600)]
        orders = [events, events[::-1], events[300:] + events[:300], events[::2] + events[1::2]]
        barrier = threading.Barrier(len(orders))
        threads = [threading.Thread(target=run, args=(barrier, batch)) for batch in orders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    assert sum(r.status == "created" for rs in results for r in rs) == 3000 == Action.objects.filter(source="race").count()
    assert sum(r.status == "duplicate" for rs in results for r in rs) == 3 * 3000


@postgresql_only
@pytest.mark.parametrize("async_commit", [False, True])
def test_only_the_members_and_contents_commit_without_the_flush_unless_asked(db, settings, async_commit):
    # Members and contents go first, in a transaction whose commit does not wait for the WAL flush (the batch's
    # own commit flushes it); the batch's transaction waits for it unless INGEST_ASYNC_COMMIT says otherwise.
    # (settings.INTEREST_SCORERS is 2 unless the environment says otherwise: one scoring pass per partition.)
    from django.db import connection as db_connection

    settings.INGEST_ASYNC_COMMIT = async_commit
    spec = dict(type="signup", occurred_at=DAY, member=MemberIn(external_id="a"))
    seen = []
    with db_connection.execute_wrapper(lambda execute, sql, *args: (seen.append(sql), execute(sql, *args))[1]):
        results = actions_ingest(events=[EventIn(source="s", event_id="1", **spec)])
    assert results[0].status == "created"
    # The batch's transaction ends with the InterestPending insert; the scoring passes after it don't wait for the
    # flush either (a crash loses them with their rows' deletion: services.interest_queue).
    queued = min(i for i, sql in enumerate(seen) if "community_scoring_interestpending" in sql)
    stored = seen[:queued]
    assert stored.count("SET LOCAL synchronous_commit TO OFF") == (2 if async_commit else 1)
    first_transaction = next(i for i, sql in enumerate(stored) if sql.startswith(("SAVEPOINT", "BEGIN")))
    assert stored[first_transaction + 1] == "SET LOCAL synchronous_commit TO OFF"  # before members are written
    assert seen[queued:].count("SET LOCAL synchronous_commit TO OFF") == settings.INTEREST_SCORERS


def test_the_engine_scores_exactly_the_new_actions_of_a_batch(db, monkeypatch, settings):
    from community_scoring.services import interest_queue

    seen = []
    original = interest_queue.interest_apply  # what the scorer calls
    monkeypatch.setattr(interest_queue, "interest_apply",
                        lambda *, action_ids, **kw: (seen.append(sorted(action_ids)), original(action_ids=action_ids, **kw))[1])
    event = EventIn(source="s", event_id="1", type="vote_up", occurred_at=DAY, text="hi",
                    member=MemberIn(external_id="a"),
                    target_content=ContentIn(external_id="c", topic="api", author_external_id="b"))
    actions_ingest(events=[event, EventIn(**{**_fields(event), "event_id": "2"})])
    actions_ingest(events=[event, EventIn(**{**_fields(event), "event_id": "3"})])  # "1" is a duplicate now
    stored = dict(Action.objects.values_list("external_event_id", "pk"))
    partitions = settings.INTEREST_SCORERS  # each scorer partition scores its members' share of them
    assert seen == [sorted([stored["1"], stored["2"]])] * partitions + [[stored["3"]]] * partitions


def _fields(event):
    return {name: getattr(event, name) for name in EventIn.__slots__}


def _engagement_on_day(external_id):
    """The member's engagement valued at the start of DAY (both rule sets here decay with a 10-day half-life)."""
    score = InterestScore.objects.get(member__external_id=external_id)
    days = (score.ref_time - DAY.replace(hour=0)).total_seconds() / 86400
    return score.engagement * 2 ** (days / 10)


def _answer(event_id, **member):
    return EventIn(source="s", event_id=event_id, type="answer", occurred_at=DAY,
                   member=MemberIn(external_id="a", **member), target_content=ContentIn(external_id="c"))


def test_a_persona_change_in_a_batch_rescores_the_member_under_the_new_rule_set(db):
    from tests.community_scoring.services.interest_helpers import install_test_config

    install_test_config()  # default set: answer 8; "developer" set: answer 20 (both: half-life 10 days)
    actions_ingest(events=[_answer("1")])
    assert _engagement_on_day("a") == pytest.approx(8)
    # The batch only repeats the stored event (a duplicate) but names the member's new persona: the answer
    # already logged is now worth 20, as a recompute from the log under the developer rule set says.
    results = actions_ingest(events=[_answer("1", persona="developer")])
    assert [r.status for r in results] == ["duplicate"]
    assert _engagement_on_day("a") == pytest.approx(20)
    # A new action in the same batch as the change is counted once, under the new set: 2 answers * 20.
    actions_ingest(events=[_answer("2", persona="developer")])
    assert _engagement_on_day("a") == pytest.approx(40)


def test_an_attribute_change_in_a_batch_refreshes_fit(db):
    from tests.community_scoring.services.interest_helpers import install_test_config

    install_test_config()  # fit: job title containing "engineer" +10
    actions_ingest(events=[_answer("1")])
    score = InterestScore.objects.get(member__external_id="a")
    assert (score.engagement, score.fit) == (pytest.approx(8), 0)
    actions_ingest(events=[_answer("1", attributes={"job_title": "Software engineer"})])  # duplicate event
    score = InterestScore.objects.get(member__external_id="a")
    assert (score.engagement, score.fit, score.score) == (pytest.approx(8), 10, pytest.approx(18))


def test_awkward_text_survives_the_array_literals(db):
    """The bulk path sends columns as PostgreSQL array literals (bulk.pg_array): quotes, backslashes, commas,
    braces, the word NULL and empty strings come back exactly, and so does metadata (integers at the int64 extremes,
    beyond a float's 53 bits, too; beyond int64 an event is rejected: events.NUMBER_RANGE, issue 11)."""
    odd = ['a"b', "c\\d", "e,f", "{g}", "NULL", " h ", "ü'ñ"]
    actions_ingest(events=[
        EventIn(source="s", event_id=f"ev-{text}", type="answer", occurred_at=DAY, text=text,
                metadata={"note": text, "big": 2**63 - 1, "small": -(2**63), "list": [1.5, None, True]},
                member=MemberIn(external_id=f"m-{text}", name=text, attributes={"k": text}),
                target_content=ContentIn(external_id=f"c-{text}", topic=text))
        for text in odd
    ])
    stored = {a.external_event_id: a for a in Action.objects.filter(source="s").select_related("member", "target_content")}
    assert set(stored) == {f"ev-{text}" for text in odd}
    for text in odd:
        action = stored[f"ev-{text}"]
        assert (action.text, action.topic, action.member.display_name, action.member.attributes,
                action.target_content.external_id) == (text, text, text, {"k": text}, f"c-{text}")
        assert action.metadata == {"note": text, "big": 2**63 - 1, "small": -(2**63), "list": [1.5, None, True]}


def test_a_member_inserted_by_a_concurrent_batch_meanwhile_is_found_on_the_next_round(db, monkeypatch):
    # The upsert statement skips a key another batch inserted after its snapshot (no id for it): the key is
    # looked up again, and the event is stored with that member.
    original = postgres._execute_arrays
    calls = []

    def racing(template, columns, now):
        rows = original(template, columns, now)
        if template is postgres._MEMBERS_UPSERT_SQL:
            calls.append(list(columns["external_id"]))
            if len(calls) == 1:
                return [row for row in rows if row[2] != "b"]  # as if "b" had been inserted concurrently
        return rows

    monkeypatch.setattr(postgres, "_execute_arrays", racing)
    results = actions_ingest(events=[EventIn(source="s", event_id="1", type="follow", occurred_at=DAY,
                                             member=MemberIn(external_id="a"), target_member=MemberIn(external_id="b"))])
    assert [r.status for r in results] == ["created"]
    assert calls == [["a", "b"], ["b"]]
    action = Action.objects.get(source="s", external_event_id="1")
    assert action.target_member.external_id == "b"
