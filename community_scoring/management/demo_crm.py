"""The demo community's CRM: what sales saw happen to its members (trials, acceptances, rejections, wins, losses),
generated from the members' behaviour as plain data (no database), so the quality report and calibration have
something true to measure.

A member's chance of starting a trial on a day follows a hidden rule the scoring configuration does not know:
``p = sigmoid(BASE + sum(HIDDEN_WEIGHTS[type] * actions of that type in the last 30 days) + LARGE_COMPANY)``.
Questions, poll responses and blog posts signal intent; reads and votes hardly do. A trial is followed by a sales
decision a few days later (accepted or rejected, with a reason), an accepted lead may become an opportunity, and an
opportunity is won (with an amount) or lost (with a reason). Outcomes that would fall after the history's end are
not generated. Drawn from its own seeded generator, so the community's events are the same with or without it.
"""
from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from community_scoring.management.demo_community import DemoHistory

SOURCE = "demo-crm"
WINDOW_DAYS = 30
BASE = -7.0
LARGE_COMPANY = 0.8  # company_size >= 250: sales-ready accounts convert more
HIDDEN_WEIGHTS = {
    "question": 0.35, "poll_response": 0.5, "blog_post": 0.3, "answer": 0.12, "comment": 0.08, "share": 0.2,
    "follow": 0.05, "vote_up": 0.02, "vote_down": 0.0, "read": 0.01, "login": 0.01, "solved": 0.1,
}
REJECTIONS = ["no budget this year", "student project", "already a customer", "outside our sales regions",
              "consultant, not a buyer"]
LOSSES = ["chose a competitor", "project postponed", "price", "no executive sponsor"]


@dataclass(frozen=True)
class DemoOutcome:
    outcome_id: str
    member: int  # index into the history's members
    type: str
    at: datetime
    reason: str = ""
    value: str = ""


def crm_outcomes(history: DemoHistory, *, seed: int) -> list[DemoOutcome]:
    """Every outcome of the history, in time order."""
    rng = random.Random(seed * 1_000_003 + 17)
    end = history.day_start(history.days)
    members = history.members
    recent: list[deque] = [deque() for _ in members]  # (day, type) of the member's last WINDOW_DAYS days
    converted: set[int] = set()
    outcomes: list[DemoOutcome] = []

    def add(member: int, kind: str, at: datetime, reason: str = "", value: str = "") -> bool:
        if at >= end:
            return False
        outcomes.append(DemoOutcome(f"o{len(outcomes)}", member, kind, at, reason, value))
        return True

    for day, events in enumerate(history.events_by_day):
        for e in events:
            recent[e.member].append((day, e.type))
        day_end = history.day_start(day) + timedelta(hours=23, minutes=30)
        for m, window in enumerate(recent):
            while window and window[0][0] <= day - WINDOW_DAYS:
                window.popleft()
            if m in converted or not window:
                continue
            signal = BASE + sum(HIDDEN_WEIGHTS.get(kind, 0.0) for _, kind in window)
            if (members[m].attributes.get("company_size") or 0) >= 250:
                signal += LARGE_COMPANY
            if rng.random() >= 1.0 / (1.0 + math.exp(-signal)):
                continue
            converted.add(m)
            at = day_end - timedelta(minutes=rng.randrange(600))
            add(m, "converted", at, value=rng.choice(["trial", "trial", "trial", "demo_request"]))
            decided = at + timedelta(days=rng.uniform(1, 5))
            if rng.random() < 0.35:
                add(m, "sales_rejected", decided, reason=rng.choice(REJECTIONS))
                continue
            if not add(m, "sales_accepted", decided) or rng.random() < 0.3:
                continue
            opened = decided + timedelta(days=rng.uniform(3, 10))
            if not add(m, "opportunity", opened):
                continue
            closed = opened + timedelta(days=rng.uniform(10, 30))
            if rng.random() < 0.45:
                add(m, "won", closed, value=str(rng.choice([6000, 12000, 24000, 48000])))
            else:
                add(m, "lost", closed, reason=rng.choice(LOSSES))
    outcomes.sort(key=lambda o: (o.at, o.outcome_id))
    return outcomes
