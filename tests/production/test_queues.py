"""Separate queues (issue 15, failure 6): two full recomputes running must not delay the scoring of fresh batches.

Before: one worker took every queue, two full recomputes filled its processes, and 5,000 fresh events were scored
44 s late. With deploy/Procfile's worker per queue, the fresh events are scored while the recomputes still run.
Not a timing test: it asserts the order (fresh events scored before either recompute is done) and prints the lag.
"""
import random
import time

from tests.production.harness import (
    Client, audit_until_ok, batches_make, ingest, post_json, query, token_issue, wait_for,
)

MEMBERS = 3000


def test_fresh_batches_are_scored_while_two_recomputes_run(shared_services, stacks):
    env = shared_services
    db = env["DATABASE_URL"]
    stack = stacks("queues", env, ["web", "scoring", "recompute"])
    client = Client(stack.port, token_issue(env, "ingest"))
    rng = random.Random(11)
    history = batches_make(rng, batches=24, size=1000, members=MEMBERS)
    ingest(client, history)
    audit_until_ok(env)

    admin = token_issue(env, "admin")
    jobs = [post_json(stack.port, "/api/v1/recompute/interest/", admin)["id"] for _ in range(2)]
    wait_for(lambda: query(db, "SELECT status FROM community_scoring_recomputejob WHERE id = %s", [jobs[0]])[0][0]
             == "running", timeout=60, what="the first recompute to start")

    fresh = batches_make(rng, batches=10, size=500, members=MEMBERS, first=100_000)
    ingest(client, fresh)
    answered = time.monotonic()
    expected = (len(history) * 1000) + len(fresh) * 500
    wait_for(lambda: query(db, "SELECT (SELECT count(*) FROM community_scoring_interestpending) = 0 AND "
                               "(SELECT count(*) FROM community_scoring_action) = %s", [expected])[0][0],
             timeout=120, what="the fresh events to be scored", every=0.05)
    lag = time.monotonic() - answered
    statuses = [query(db, "SELECT status FROM community_scoring_recomputejob WHERE id = %s", [j])[0][0] for j in jobs]
    print(f"fresh 5,000 events scored {lag:.2f} s after the last answer; recomputes then: {statuses}")
    # One worker on every queue (before) ran both recomputes in its two processes and scored after one was done.
    assert "done" not in statuses, "a recompute finished first: nothing was shown (make the community larger)"
    wait_for(lambda: query(db, "SELECT bool_and(status = 'done') FROM community_scoring_recomputejob "
                               "WHERE id = ANY(%s)", [jobs])[0][0], timeout=300, what="both recomputes to finish")
    audit_until_ok(env)
