"""Does every stored interest score equal a recompute from the action log? (`manage.py audit_interest`)

What an operator runs after an incident (a worker killed, the database or broker restarted), and what the fault,
two-stack and load runs assert. At one instant ``at``, for every member who has a score row or a counted action:

- the stored score valued at ``at`` (store.base.interest_value_at, what every read shows) equals the score the log
  gives at ``at`` (services.recompute.interest_values_at: what a recompute would store): engagement and score
  within ``tolerance`` (relative, at least absolute 1e-9), and the same stage;
- each counted action is in its actor's buckets once: the buckets' count of done actions equals the count of
  counted actions that are not self-targeted (nothing lost, nothing counted twice);
- nothing waits: no pending scoring rows, none set aside with an error, no recompute job pending or running.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from community_scoring.models import InterestBucket, InterestPending, InterestScore, RecomputeJob
from community_scoring.scoring.ruleset import INACTIVITY
from community_scoring.selectors.config import scoring_config_current
from community_scoring.services.recompute import interest_values_at
from community_scoring.store import interest_store
from community_scoring.store.base import counted_actions, interest_value_at


@dataclass
class InterestAudit:
    at: datetime
    members: int = 0
    actions: int = 0  # counted actions done by members (not self-targeted, not inactivity penalties)
    in_buckets: int = 0  # the same actions as their actors' buckets count them
    pending: int = 0  # scoring rows waiting
    set_aside: int = 0  # scoring rows set aside with an error
    unfinished_jobs: int = 0  # recompute jobs pending or running
    mismatches: list[dict] = field(default_factory=list)  # members whose stored score differs from the log

    @property
    def ok(self) -> bool:
        return (not self.mismatches and self.actions == self.in_buckets and not self.pending and not self.set_aside
                and not self.unfinished_jobs)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "at": self.at.isoformat(), "members": self.members, "actions": self.actions,
                "in_buckets": self.in_buckets, "pending": self.pending, "set_aside": self.set_aside,
                "unfinished_jobs": self.unfinished_jobs, "mismatches": len(self.mismatches),
                "first_mismatches": self.mismatches[:10]}


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= max(1e-9, tolerance * max(abs(a), abs(b)))


def actions_counted_totals() -> tuple[int, int]:
    """(counted actions members did that earn their actor something: not inactivity penalties, not self-targeted;
    those actions as their actors' buckets count them). Equal when each is counted exactly once."""
    done = counted_actions().exclude(action_type_id=INACTIVITY).filter(
        Q(target_member__isnull=True) | ~Q(target_member=F("member")))
    in_buckets = (InterestBucket.objects.filter(received=False).exclude(action_type=INACTIVITY)
                  .aggregate(n=Sum("count"))["n"] or 0)
    return done.count(), in_buckets


def interest_audit(*, at: datetime | None = None, tolerance: float = 1e-6, chunk_size: int = 2000) -> InterestAudit:
    """Audit every member's interest against the log at ``at`` (default: now, or the latest action's time when
    actions are dated later: a recompute values those members at their last action)."""
    latest = counted_actions().aggregate(last=Max("occurred_at"))["last"]
    at = at or max(filter(None, [timezone.now(), latest]))
    audit = InterestAudit(at=at)
    audit.actions, audit.in_buckets = actions_counted_totals()
    audit.pending = InterestPending.objects.filter(failed_at__isnull=True).count()
    audit.set_aside = InterestPending.objects.filter(failed_at__isnull=False).count()
    audit.unfinished_jobs = RecomputeJob.objects.filter(
        status__in=[RecomputeJob.Status.PENDING, RecomputeJob.Status.RUNNING]).count()

    config = scoring_config_current()
    store = interest_store()
    ids = sorted(set(InterestScore.objects.values_list("member_id", flat=True))
                 | set(counted_actions().values_list("member_id", flat=True).distinct()))
    audit.members = len(ids)
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        expected = interest_values_at(member_ids=chunk, at=at, config=config, chunk_size=chunk_size)
        stored = {s.member_id: s for s in InterestScore.objects.filter(member_id__in=chunk)}
        facts = store.members_facts(chunk)
        for member_id in chunk:
            want, row = expected.get(member_id), stored.get(member_id)
            if want is None:
                continue  # erased or merged away meanwhile
            if row is None:
                audit.mismatches.append({"member": member_id, "stored": None, "log": round(want.score, 6)})
                continue
            shown = interest_value_at(engagement=row.engagement, ref_time=row.ref_time, fit=row.fit,
                                      member=facts[member_id], config=config, when=at)
            if not (_close(shown.engagement, want.engagement, tolerance) and _close(shown.score, want.score, tolerance)
                    and shown.stage == want.stage):
                audit.mismatches.append({"member": member_id, "stored": round(shown.score, 6),
                                         "log": round(want.score, 6), "stored_stage": shown.stage,
                                         "log_stage": want.stage})
    return audit
