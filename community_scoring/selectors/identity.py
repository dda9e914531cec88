"""Identities as linking reads them (services.identity): which ones share a key with another person.

The rule for "the same person" is written once, here (LINK_KEYS): both the link of an identity as it arrives
(``identities_sharing``) and the sweep for identities whose linking was lost (``identities_unlinked``) read it.
"""
from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce, Upper

from community_scoring.models import Member

# The keys that make identities one person: the same crm_id, or the same email verified by their sources, compared
# case-insensitively. Each key: its value (an annotation) and the condition under which an identity has it.
LINK_KEYS = {
    "link_crm_id": (F("crm_id"), ~Q(crm_id="")),
    "link_email": (Upper("email"), Q(email_verified=True) & ~Q(email="")),
}


def _keyed(identities: QuerySet[Member]) -> QuerySet[Member]:
    return identities.annotate(**{name: value for name, (value, _) in LINK_KEYS.items()})


def _sharing(keys: dict[str, list]) -> Q | None:
    """Identities holding any of these values of their keys."""
    matches = [LINK_KEYS[name][1] & Q(**{f"{name}__in": values}) for name, values in keys.items() if values]
    return reduce(or_, matches) if matches else None


def identities_sharing(identity_id: int) -> list[tuple[int, int | None]]:
    """The other identities sharing a link key with this one, as (identity, the member it is merged into or
    None); none when it has no key (or does not exist). Index probes: crm_id, and upper(email)."""
    has = {f"has_{name}": ExpressionWrapper(condition, output_field=BooleanField())
           for name, (_, condition) in LINK_KEYS.items()}
    row = _keyed(Member.objects.filter(pk=identity_id)).annotate(**has).values(*LINK_KEYS, *has).first()
    if row is None:
        return []
    match = _sharing({name: [row[name]] for name in LINK_KEYS if row[f"has_{name}"]})
    if match is None:
        return []
    return list(_keyed(Member.objects.all()).filter(match).exclude(pk=identity_id)
                .values_list("pk", "merged_into_id"))


def identities_unlinked() -> list[int]:
    """Identities whose link key is shared with an identity of another person (members that are not one member
    yet): what services.identity.members_link merges, unless an unmerge separated them. One grouped read per key
    (over the crm_id and upper(email) indexes), then the identities of those keys."""
    person = Coalesce("merged_into_id", "pk")
    identities = _keyed(Member.objects.filter(erased_at__isnull=True))
    shared = {name: list(identities.filter(condition).values(name).annotate(people=Count(person, distinct=True))
                         .filter(people__gt=1).values_list(name, flat=True))
              for name, (_, condition) in LINK_KEYS.items()}
    match = _sharing(shared)
    if match is None:
        return []
    return sorted(identities.filter(match).values_list("pk", flat=True))
