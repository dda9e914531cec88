"""Celery tasks of gaming review: each calls one service; safe to run twice (a scan flags nothing twice)."""
from celery import shared_task

from community_scoring.gaming.services import gaming_scan


@shared_task(name="community_scoring.gaming.tasks.gaming_scan_task")
def gaming_scan_task() -> dict:
    """The celery beat entry (daily, gaming/migrations/0002): scan the last window for rings and bursts."""
    result = gaming_scan()
    return {"edges": result.edges, "rings": result.rings, "bursts": result.bursts,
            "flags_created": result.flags_created, "flags_extended": result.flags_extended,
            "actions_flagged": result.actions_flagged, "seconds": round(result.seconds, 3)}
