"""Members and contents outside an event (a forum user's member, a poll's content): what the door does for the
members and contents events name, for the ones no action names yet."""
from datetime import datetime
from typing import Any

from community_scoring.models import Content, Member
from community_scoring.services.identity import members_link_dispatch
from community_scoring.services.interest import interest_fit_refresh
from community_scoring.services.recompute import interest_members_refresh
from community_scoring.store.base import content_merge, member_merge


def member_upsert(
    *,
    source: str,
    external_id: str,
    email: str | None = None,
    email_verified: bool | None = None,
    display_name: str | None = None,
    persona: str | None = None,
    attributes: dict[str, Any] | None = None,
    crm_id: str | None = None,
    joined_at: datetime | None = None,
) -> Member:
    """Find the identity by (source, external id), creating it, and update the fields given (None = leave as is).
    An identity given a crm_id or a verified email is merged with the members sharing it (services.identity)."""
    member, created = Member.objects.get_or_create(source=source, external_id=external_id)
    changed = member_merge(member, email=email, email_verified=email_verified, display_name=display_name, persona=persona, crm_id=crm_id,
                           attributes=attributes, joined_at=joined_at)
    if changed:
        member.save(update_fields=[*sorted(changed), "updated_at"])
        if not created and "persona" in changed:
            # The persona picks the rule set (points, caps, half-life): re-score the member from the log.
            interest_members_refresh(member_ids=[member.pk])
        elif not created and "attributes" in changed:
            interest_fit_refresh(member_ids=[member.pk])
    if (created or changed & {"email", "email_verified", "crm_id"}) and (
            member.crm_id or (member.email_verified and member.email)):
        members_link_dispatch([member.pk])
        member.refresh_from_db()
    return member


def member_exclude(*, member_id: int) -> None:
    """Leave an identity's member out of leaderboards, advocate lists and webhooks (the community's own staff)."""
    person = Member.objects.filter(pk=member_id).values_list("merged_into_id", flat=True).first()
    Member.objects.filter(pk__in=[member_id, person or member_id]).update(is_excluded=True)


def content_upsert(
    *,
    source: str,
    external_id: str,
    author: Member | None = None,
    topic: str | None = None,
    kind: str | None = None,
    title: str | None = None,
) -> Content:
    """Find content by (source, external id), creating it, and fill in what is given."""
    content, _ = Content.objects.get_or_create(source=source, external_id=external_id)
    changed = content_merge(content, author=author, topic=topic, kind=kind, title=title)
    if changed:
        content.save(update_fields=sorted(changed))
    return content
