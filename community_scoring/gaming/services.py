"""Gaming review: scans that flag vote rings and vote bursts (gaming.rings), and admins confirming or clearing flags.

While a flag is not cleared, the actions it names are excluded from both scores: one ActionExclusion row per
action (cause ``gaming-flag:<id>``), which the interest and influence stores leave out. Every change of what is
excluded recomputes the interest of the members it touches (actors and targets) from the log, holding the
scorers meanwhile (services.interest_queue.scorers_hold), and asks for an influence run.

Idempotent: an action already named by a flag is never flagged again. A finding whose key (a ring's members, a
burst's pair) has an open flag adds its new actions to that flag; otherwise its new actions, if any, make a new
flag. So the same ring found twice is one flag, and a cleared flag is not raised again for the same evidence
(only new actions would raise a new one).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from community_scoring.gaming import rings
from community_scoring.gaming.models import FlaggedAction, GamingFlag
from community_scoring.gaming.selectors import account_births, flag_member_ids, gaming_edges
from community_scoring.influence.services import influence_run_request_once
from community_scoring.models import ActionExclusion
from community_scoring.services.interest_queue import scorers_hold
from community_scoring.services.recompute import interest_recompute

WINDOW_DAYS = 30  # how far back a scan looks


@dataclass
class ScanResult:
    edges: int = 0
    rings: int = 0
    bursts: int = 0
    flags_created: list[int] = field(default_factory=list)
    flags_extended: list[int] = field(default_factory=list)
    actions_flagged: int = 0
    seconds: float = 0.0


class ReviewError(ValueError):
    """A review that cannot be done; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def gaming_scan(*, now: datetime | None = None, window_days: float = WINDOW_DAYS,
                young_days: float = rings.YOUNG_DAYS, min_size: int = rings.MIN_SIZE,
                min_density: float = rings.MIN_DENSITY, min_inside_share: float = rings.MIN_INSIDE_SHARE,
                burst_count: int = rings.BURST_COUNT, burst_window: timedelta = rings.BURST_WINDOW) -> ScanResult:
    """Look for rings and bursts in the actions of the last ``window_days`` before ``now``, flag them, exclude
    their actions, and refresh the scores of the members they touch (thresholds: gaming.rings)."""
    started = time.monotonic()
    now = now or timezone.now()
    edges = gaming_edges(since=now - timedelta(days=window_days), until=now,
                         kinds=rings.RING_KINDS | rings.BURST_KINDS)
    births = account_births({e.actor for e in edges})
    found_rings = rings.rings_find(edges, births, young_days=young_days, min_size=min_size, min_density=min_density,
                                   min_inside_share=min_inside_share)
    found_bursts = rings.bursts_find(edges, count=burst_count, window=burst_window)
    result = ScanResult(edges=len(edges), rings=len(found_rings), bursts=len(found_bursts))
    thresholds = {"window_days": window_days, "young_days": young_days, "min_size": min_size,
                  "min_density": min_density, "min_inside_share": min_inside_share, "burst_count": burst_count,
                  "burst_window_minutes": burst_window.total_seconds() / 60}
    findings = [
        (GamingFlag.Kind.RING, ring.key, ring.members, ring.edge_ids, ring.reason,
         {"density": round(ring.density, 4), "inside_share": round(ring.inside_share, 4),
          "pairs": [list(p) for p in ring.pairs], "thresholds": thresholds})
        for ring in found_rings
    ] + [
        (GamingFlag.Kind.BURST, burst.key, (burst.actor, burst.target), burst.edge_ids, burst.reason,
         {"actor": burst.actor, "target": burst.target, "action_type": burst.kind, "count": burst.count,
          "start": burst.start.isoformat(), "end": burst.end.isoformat(), "thresholds": thresholds})
        for burst in found_bursts
    ]
    touched: set[int] = set()
    with transaction.atomic():
        scorers_hold()
        for kind, key, members, edge_ids, reason, evidence in findings:
            known = set(FlaggedAction.objects.filter(action_id__in=edge_ids).values_list("action_id", flat=True))
            new = [a for a in edge_ids if a not in known]
            if not new:
                continue
            flag = (GamingFlag.objects.filter(key=key).exclude(status=GamingFlag.Status.CLEARED)
                    .order_by("-pk").first())
            if flag is None:
                flag = GamingFlag.objects.create(kind=kind, key=key, reason=reason, evidence=evidence,
                                                 detected_at=now)
                result.flags_created.append(flag.pk)
            else:
                flag.reason, flag.evidence = reason, evidence
                flag.save(update_fields=["reason", "evidence"])
                result.flags_extended.append(flag.pk)
            flag.members.add(*members)
            FlaggedAction.objects.bulk_create([FlaggedAction(flag=flag, action_id=a) for a in new])
            if flag.excludes:
                ActionExclusion.objects.bulk_create([ActionExclusion(action_id=a, cause=flag.cause) for a in new],
                                                    ignore_conflicts=True)
            result.actions_flagged += len(new)
            touched |= flag_member_ids(flag_id=flag.pk)
        _scores_refresh(touched)
    result.seconds = time.monotonic() - started
    return result


def gaming_flag_review(*, flag_id: int, status: str, by: str = "") -> GamingFlag:
    """An admin's decision on a flag: ``confirmed`` (its actions stay excluded) or ``cleared`` (they count
    again; confirming a cleared flag excludes them again). The touched members' scores are refreshed."""
    if status not in (GamingFlag.Status.CONFIRMED, GamingFlag.Status.CLEARED):
        raise ReviewError("status", "must be confirmed or cleared")
    with transaction.atomic():
        flag = GamingFlag.objects.select_for_update().filter(pk=flag_id).first()
        if flag is None:
            raise ReviewError("flag", f"no gaming flag {flag_id}")
        was_excluding = flag.excludes
        flag.status, flag.reviewed_by, flag.reviewed_at = status, by, timezone.now()
        flag.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        if flag.excludes != was_excluding:
            scorers_hold()
            if flag.excludes:
                ActionExclusion.objects.bulk_create(
                    [ActionExclusion(action_id=a, cause=flag.cause)
                     for a in flag.actions.values_list("action_id", flat=True)], ignore_conflicts=True)
            else:
                ActionExclusion.objects.filter(cause=flag.cause).delete()
            _scores_refresh(flag_member_ids(flag_id=flag.pk))
    return flag


def _scores_refresh(member_ids: set[int]) -> None:
    """Interest of these members recomputed from the log now (in the caller's transaction); influence with the
    next run, requested."""
    if not member_ids:
        return
    interest_recompute(member_ids=sorted(member_ids), reason="gaming")
    influence_run_request_once(trigger="gaming")
