"""Helpers shared by the forum_integration tests."""
from datetime import datetime, timezone

from community_scoring.models import InterestBucket, InterestScore, Member

# A fixed past moment: every action of a test falls on one UTC day, so a member's stored engagement (valued at
# that day's start, where decay is 1) is exactly the sum of the default rule points worked out by hand.
T = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
T_ISO = "2026-11-20T10:00:00Z"


def engagement(member: Member) -> float:
    score = InterestScore.objects.filter(member=member).first()
    return 0.0 if score is None else score.engagement


def bucket_points(member: Member) -> dict[tuple[str, bool], float]:
    """Points per (action type, received) after caps, summed over days: what the rules gave this member."""
    out: dict[tuple[str, bool], float] = {}
    for b in InterestBucket.objects.filter(member=member):
        out[(b.action_type_id, b.received)] = out.get((b.action_type_id, b.received), 0.0) + b.points
    return {k: v for k, v in out.items() if v}
