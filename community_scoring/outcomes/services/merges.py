"""Outcomes follow the person when members merge or unmerge, as the action log does (services.identity).

An outcome's ``member`` is the person; ``identity`` the identity its source named when that is a merged one. A
merge moves the merged members' outcomes to the member merged into, recording the identity each named; an
unmerge gives an identity back exactly the outcomes that named it. The sales stages of the people involved are
then re-derived from the outcomes they now have.
"""
from __future__ import annotations

from collections.abc import Sequence

from django.db.models import F, Q

from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.sales_stages import sales_stages_refresh


def outcomes_merge(*, into: int, merged: Sequence[int]) -> None:
    """The outcomes of the members ``merged`` now belong to ``into`` (inside the merge's transaction)."""
    moved = Outcome.objects.filter(member_id__in=list(merged))
    moved.filter(identity_id__isnull=True).update(identity_id=F("member_id"))
    moved.update(member_id=into)
    sales_stages_refresh(member_ids=[into], reason="merge")


def outcomes_unmerge(*, identity: int, member: int) -> None:
    """The outcomes that named ``identity`` go back to it from ``member`` (inside the unmerge's transaction)."""
    Outcome.objects.filter(member_id=member, identity_id=identity).update(member_id=identity, identity_id=None)
    sales_stages_refresh(member_ids=[member, identity], reason="unmerge")


def outcomes_erase(*, identity_ids: Sequence[int]) -> dict[str, int]:
    """A privacy erasure (services.erasure, through member_erased): the outcomes stay, for the reports, but the
    reasons sales wrote about the person are blanked. Returns {"outcome_reasons": how many}."""
    reasons = (Outcome.objects.filter(Q(member_id__in=identity_ids) | Q(identity_id__in=identity_ids))
               .exclude(reason="").update(reason=""))
    return {"outcome_reasons": reasons}
