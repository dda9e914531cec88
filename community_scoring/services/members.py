"""Members and contents outside an event (a forum user's member, a poll's content): what the door does for the
members and contents events name, for the ones no action names yet."""
from typing import Any

from community_scoring.models import Content, Member
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
) -> Member:
    """Find the member by (source, external id), creating it, and update the fields given (None = leave as is)."""
    member, created = Member.objects.get_or_create(source=source, external_id=external_id)
    changed = member_merge(member, email=email, email_verified=email_verified, display_name=display_name, persona=persona, crm_id=crm_id,
                           attributes=attributes)
    if changed:
        member.save(update_fields=[*sorted(changed), "updated_at"])
        if not created and "persona" in changed:
            # The persona picks the rule set (points, caps, half-life): re-score the member from the log.
            interest_members_refresh(member_ids=[member.pk])
        elif not created and "attributes" in changed:
            interest_fit_refresh(member_ids=[member.pk])
    return member


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
