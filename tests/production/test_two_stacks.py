"""The scale-out path (issue 15): two stacks (gunicorn and scoring workers each, on their own ports; one beat) on one
database and one broker take concurrent batches for the same members, some of them sent to both at once. Every
event is stored once, every member's counts are exact and every score equals the log."""
import random
from concurrent.futures import ThreadPoolExecutor

from celery import Celery

from tests.production.harness import Client, actions_stored, audit_until_ok, batches_make, token_issue

MEMBERS = 300  # few members, so nearly every batch of either stack names members the other is scoring
BATCH = 400


def test_two_stacks_count_every_event_once(shared_services, stacks):
    env = shared_services
    a = stacks("a", env, ["web", "scoring", "beat"])
    b = stacks("b", env, ["web", "scoring"])  # one beat per deployment
    token = token_issue(env, "ingest")
    to_a, to_b = Client(a.port, token), Client(b.port, token)
    rng = random.Random(7)
    batches = batches_make(rng, batches=40, size=BATCH, members=MEMBERS)
    both = rng.sample(batches, 10)  # sent to both stacks at the same time as well

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit((to_a if i % 2 else to_b).post, batch) for i, batch in enumerate(batches)]
        futures += [pool.submit(client.post, batch) for batch in both for client in (to_a, to_b)]
        for future in futures:
            future.result()

    distinct = len(batches) * BATCH
    assert actions_stored(env["DATABASE_URL"]) == (distinct, distinct)
    assert to_a.accepted + to_b.accepted == distinct + 2 * len(both) * BATCH  # every post answered
    report = audit_until_ok(env)
    assert report["members"] == MEMBERS and report["actions"] == report["in_buckets"]
    # Both stacks' scoring workers took passes: the work was shared, not done by one side.
    app = Celery("two-stacks", broker=env["CELERY_BROKER_URL"])
    stats = app.control.inspect(destination=[a.node("scoring"), b.node("scoring")], timeout=5).stats() or {}
    app.close()
    passes = {node: stats.get(node, {}).get("total", {}).get("community_scoring.interest_partition_score", 0)
              for node in (a.node("scoring"), b.node("scoring"))}
    assert all(passes.values()), passes
