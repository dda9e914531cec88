"""A generated community whose conversions follow a known rule, for the calibration and replay tests.

Seeded, so every run builds the same history. Each member joins on a random day and then does each action type
at their own Poisson rate per day. At T_TRAIN and again at T_EVAL every member who has acted and not converted yet
converts (an outcome some time in the next WITHIN days) with probability

    sigmoid(sum over types of HIDDEN[type] * x_type + bias),   x_type = sum over their actions of that type
    before T of 2 ** (-(T - day start of the action) / HALF_LIFE)

computed here in plain Python from the generated actions, independently of the engine. Every member's fit is 25
(job title "engineer" + company size >= 200 under the default rules), so their stage follows engagement alone.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from community_scoring.outcomes.models import Outcome
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest

BASE = datetime(2025, 1, 1, tzinfo=timezone.utc)  # day 0, a UTC midnight
WITHIN = 30
END_DAY = 200
END = BASE + timedelta(days=END_DAY)  # calibration's ``end``
T_EVAL = END - timedelta(days=WITHIN)  # day 170
T_TRAIN = T_EVAL - timedelta(days=WITHIN)  # day 140
HALF_LIFE = 30.0
HIDDEN = {"read": 1.0, "question": 0.7, "comment": 0.4, "vote_up": 0.1, "answer": -0.2, "blog_post": -0.6}
ATTRIBUTES = {"job_title": "engineer", "company_size": 500}


@dataclass
class Generated:
    members: dict[str, list[tuple[str, datetime]]] = field(default_factory=dict)  # external id -> (type, when)
    conversions: dict[str, datetime] = field(default_factory=dict)  # external id -> when
    bias: float = 0.0


def decayed_counts(actions: list[tuple[str, datetime]], at: datetime, half_life: float = HALF_LIFE) -> dict[str, float]:
    """x_type at ``at``: each action before ``at`` worth 2 ** (-(at - its day's start) / half_life)."""
    x = {t: 0.0 for t in HIDDEN}
    for action_type, when in actions:
        if when <= at:
            day_start = datetime(when.year, when.month, when.day, tzinfo=timezone.utc)
            x[action_type] += 2.0 ** (-(at - day_start).total_seconds() / 86400 / half_life)
    return x


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def _bias_for(linear: list[float], target: float) -> float:
    """The bias giving a mean conversion probability of ``target`` (bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        mid = (low + high) / 2
        if sum(_sigmoid(z + mid) for z in linear) / len(linear) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def community_generate(*, members: int = 400, seed: int = 14, rate: float = 0.035, base_rate: float = 0.25,
                       source: str = "gt") -> Generated:
    """Generate the history (no database)."""
    rng = random.Random(seed)
    out = Generated()
    for i in range(members):
        joined = rng.randrange(0, 160)
        activity = rng.lognormvariate(0, 0.7)
        mix = {t: rng.expovariate(1.0) for t in HIDDEN}
        actions = []
        for day in range(joined, T_EVAL.toordinal() - BASE.toordinal()):
            for action_type, share in mix.items():
                lam = rate * activity * share
                # Poisson draw by inversion (small rates)
                n, p, u = 0, math.exp(-lam), rng.random()
                cumulative = p
                while u > cumulative:
                    n += 1
                    p *= lam / n
                    cumulative += p
                for _ in range(n):
                    actions.append((action_type, BASE + timedelta(days=day, seconds=rng.randrange(60, 86000))))
        out.members[f"{source}-{i}"] = actions
    for t in (T_TRAIN, T_EVAL):
        eligible = [m for m, acts in out.members.items()
                    if m not in out.conversions and any(when <= t for _, when in acts)]
        linear = {m: sum(HIDDEN[k] * v for k, v in decayed_counts(out.members[m], t).items()) for m in eligible}
        out.bias = _bias_for(list(linear.values()), base_rate)
        for m in eligible:
            if rng.random() < _sigmoid(linear[m] + out.bias):
                out.conversions[m] = t + timedelta(days=rng.uniform(0.1, WITHIN - 0.1))
    return out


def community_load(generated: Generated, *, source: str = "gt") -> dict[str, int]:
    """Ingest the actions through the one door and write the conversions as Outcome rows; returns
    external id -> member id."""
    events = []
    for external_id, actions in generated.members.items():
        for n, (action_type, when) in enumerate(actions):
            events.append(EventIn(source=source, event_id=f"{external_id}-{n}", type=action_type, occurred_at=when,
                                  member=MemberIn(external_id=external_id, attributes=ATTRIBUTES if n == 0 else None)))
    for start in range(0, len(events), 2000):
        results = actions_ingest(events=events[start:start + 2000])
        assert all(r.status == "created" for r in results), [r.errors for r in results if r.status != "created"][:3]
    from community_scoring.models import Member

    ids = dict(Member.objects.filter(source=source).values_list("external_id", "pk"))
    Outcome.objects.bulk_create([
        Outcome(source="crm", outcome_id=f"conv-{external_id}", type=Outcome.Type.CONVERTED, occurred_at=when,
                member_id=ids[external_id])
        for external_id, when in generated.conversions.items()
    ])
    return ids
