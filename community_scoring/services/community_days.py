"""The community's days, computed ahead: per UTC day, actions, active and new members, scored members, the mean
interest and influence of the day's snapshots and members per stage (CommunityDay). The dashboard's charts read
these rows; nothing scans the action log at request time.

Refreshed by the daily snapshot task (the last two days) and once over the whole history after a demo load.
Running it twice gives the same rows: each day is recomputed from the log and the snapshots and upserted.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Avg, Count, Min, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from community_scoring.influence.models import InfluenceSnapshot
from community_scoring.models import Action, CommunityDay, Member, ScoreSnapshot


def _first_day() -> date | None:
    """The earliest day anything happened: first action, first join or first snapshot."""
    candidates = [
        Action.objects.aggregate(first=Min("occurred_at"))["first"],
        Member.objects.aggregate(first=Min("joined_at"))["first"],
        ScoreSnapshot.objects.aggregate(first=Min("date"))["first"],
    ]
    days = [c.date() if isinstance(c, datetime) else c for c in candidates if c is not None]
    return min(days) if days else None


def community_days_refresh(*, since: date | None = None, until: date | None = None) -> int:
    """Recompute and store every day from ``since`` (default: the first day with any data) to ``until``
    (default: today, UTC), days without activity included (zeros). Returns the number of days written."""
    until = until or timezone.now().date()
    since = since or _first_day()
    if since is None or since > until:
        return 0
    start = datetime.combine(since, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), tzinfo=timezone.get_current_timezone())

    actions = {
        row["d"]: (row["n"], row["m"])
        for row in Action.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(d=TruncDate("occurred_at")).values("d").annotate(n=Count("id"), m=Count("member_id", distinct=True))
    }
    joined = {
        row["d"]: row["n"]
        for row in Member.objects.filter(joined_at__gte=start, joined_at__lt=end, merged_into__isnull=True)
        .annotate(d=TruncDate("joined_at")).values("d").annotate(n=Count("id"))
    }
    # Excluded (staff) members count in activity but not in the community's scores, as on the leaderboards.
    stages: dict[date, dict[str, int]] = defaultdict(dict)
    interest_sum: dict[date, float] = defaultdict(float)
    for row in (
        ScoreSnapshot.objects.filter(date__gte=since, date__lte=until, member__is_excluded=False)
        .order_by().values("date", "stage").annotate(n=Count("id"), total=Sum("score"))
    ):
        stages[row["date"]][row["stage"] or ""] = row["n"]
        interest_sum[row["date"]] += row["total"] or 0.0
    influence = dict(
        InfluenceSnapshot.objects.filter(day__gte=since, day__lte=until, member__is_excluded=False)
        .order_by().values("day").annotate(mean=Avg("influence")).values_list("day", "mean")
    )

    rows = []
    day = since
    while day <= until:
        n_actions, active = actions.get(day, (0, 0))
        scored = sum(stages[day].values()) if day in stages else 0
        rows.append(CommunityDay(
            day=day, actions=n_actions, active_members=active, new_members=joined.get(day, 0), scored_members=scored,
            mean_interest=interest_sum[day] / scored if scored else None, mean_influence=influence.get(day),
            stages=dict(stages.get(day, {})), updated_at=timezone.now(),
        ))
        day += timedelta(days=1)
    CommunityDay.objects.bulk_create(
        rows, batch_size=500, update_conflicts=True, unique_fields=["day"],
        update_fields=["actions", "active_members", "new_members", "scored_members", "mean_interest",
                       "mean_influence", "stages", "updated_at"],
    )
    return len(rows)
