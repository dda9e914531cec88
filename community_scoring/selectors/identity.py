"""Identities as linking reads them (services.identity): which ones share a key with another person."""
from __future__ import annotations

from django.db.models import Count, Q
from django.db.models.functions import Coalesce, Upper

from community_scoring.models import Member


def identities_unlinked() -> list[int]:
    """Identities whose crm_id, or verified email (case-insensitive), is shared with an identity of another person
    (members that are not one member yet): what services.identity.members_link merges, unless an unmerge
    separated them. Two grouped reads over the crm_id and email indexes, then the identities of those keys."""
    person = Coalesce("merged_into_id", "pk")
    identities = Member.objects.filter(erased_at__isnull=True)
    crm_ids = (identities.exclude(crm_id="").values("crm_id").annotate(people=Count(person, distinct=True))
               .filter(people__gt=1).values_list("crm_id", flat=True))
    emails = (identities.filter(email_verified=True).exclude(email="").annotate(key=Upper("email")).values("key")
              .annotate(people=Count(person, distinct=True)).filter(people__gt=1).values_list("key", flat=True))
    crm_ids, emails = list(crm_ids), list(emails)
    if not crm_ids and not emails:
        return []
    shared = Q(crm_id__in=crm_ids) | Q(email_verified=True, email_upper__in=emails)
    return sorted(identities.annotate(email_upper=Upper("email")).filter(shared).values_list("pk", flat=True))
