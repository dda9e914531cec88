"""The ground-truth community (ground_truth.py), loaded once per test module that asks for it.

Ingesting its ~10k actions through the one door takes ~5 s, so it is committed once per module (outside the
tests' transactions, which roll back what each test writes on top) and deleted afterwards; the teardown checks
that every table holds as many rows as before, so nothing leaks into other tests.
"""
import pytest
from django.apps import apps
from django.db import transaction

from tests.community_scoring.outcomes import ground_truth as gt


def _row_counts() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.managed}


@pytest.fixture(scope="module")
def ground_truth(django_db_setup, django_db_blocker):
    """(Generated, {external id: member id}) of the committed ground-truth community."""
    from community_scoring.models import Member
    from community_scoring.outcomes.models import Outcome

    with django_db_blocker.unblock():
        before = _row_counts()
        generated = gt.community_generate()
        try:
            with transaction.atomic():  # one transaction: ~4x faster than committing batch by batch
                ids = gt.community_load(generated)
            yield generated, ids
        finally:
            Outcome.objects.filter(member_id__in=Member.objects.filter(source="gt").values("pk")).delete()
            Member.objects.filter(source="gt").delete()
            after = _row_counts()
            leaked = {label: (before.get(label), n) for label, n in after.items() if before.get(label) != n}
            assert not leaked, f"the ground-truth community left rows behind: {leaked}"
