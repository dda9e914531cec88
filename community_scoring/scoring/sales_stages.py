"""Sales-driven stages: where a member stands with sales, derived from their outcomes alone (no Django).

The rules, written once here:
- ``sales_accepted`` and ``sql`` make the member SQL, ``opportunity`` an opportunity, ``won`` a customer;
- a stage never moves back on an earlier step: an advancing outcome below the current stage changes nothing;
- ``sales_rejected``, ``lost`` and ``churned`` clear the sales stage (the member is back at their score-driven
  stage); the clearing outcome and its reason are kept;
- other outcomes (``converted``: custom conversions such as a trial or a purchase) leave the sales stage as is.

Outcomes are applied in the order they occurred (ties: by source and outcome id), never the order they arrived
in, so a late or out-of-order delivery gives the same stage as an orderly one.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

SQL, OPPORTUNITY, CUSTOMER = "SQL", "opportunity", "customer"
SALES_STAGES = (SQL, OPPORTUNITY, CUSTOMER)  # in pipeline order
ADVANCES = {"sales_accepted": SQL, "sql": SQL, "opportunity": OPPORTUNITY, "won": CUSTOMER}
CLEARS = frozenset({"sales_rejected", "lost", "churned"})
SALES_TYPES = frozenset(ADVANCES) | CLEARS  # the outcome types that can move a sales stage
_RANK = {"": 0, **{stage: i + 1 for i, stage in enumerate(SALES_STAGES)}}


@dataclass(frozen=True)
class OutcomeFact:
    """One outcome as the rule reads it; ``key`` (source, outcome id) orders outcomes that occurred together."""

    type: str
    occurred_at: datetime
    reason: str = ""
    key: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class SalesStage:
    """The sales stage ("" = none: the score-driven stage applies) and the outcome that last set or cleared it."""

    stage: str = ""
    outcome: str = ""
    reason: str = ""
    at: datetime | None = None


def sales_stage_of(outcomes: Iterable[OutcomeFact]) -> SalesStage:
    """The member's sales stage after all their outcomes (see the module docstring for the rules)."""
    state = SalesStage()
    for fact in sorted(outcomes, key=lambda o: (o.occurred_at, o.key)):
        if fact.type in CLEARS:
            state = SalesStage("", fact.type, fact.reason, fact.occurred_at)
        elif fact.type in ADVANCES:
            stage = ADVANCES[fact.type]
            if _RANK[stage] > _RANK[state.stage]:
                state = SalesStage(stage, fact.type, fact.reason, fact.occurred_at)
    return state
