"""The Django admin for people: every model has a readable name, float columns are rounded, wide tables scroll."""
from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.db import models
from django.urls import reverse
from django.utils import timezone

from community_scoring.admin_display import number_for_people
from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.models import InterestScore, StageTransition
from tests.community_scoring.services.interest_helpers import record
from tests.factories import MemberFactory


@pytest.mark.parametrize(("value", "shown"), [
    (24.123456789, "24.12"), (1234.5, "1,234.50"), (-3.14159, "-3.14"), (0.85, "0.85"), (0.0123456, "0.0123"),
    (1.2345678e-05, "0.0000123"), (-0.5, "-0.5"), (0.0, "0"), (None, "-"), (100.0, "100.00"),
])
def test_numbers_for_people(value, shown):
    assert number_for_people(value) == shown


def test_every_model_in_the_admin_has_a_readable_name():
    plain = [model.__name__ for model in admin.site._registry if model.__str__ is models.Model.__str__]
    assert plain == []


@pytest.mark.django_db
def test_interest_list_and_member_page_show_rounded_numbers_and_names(admin_client):
    member = MemberFactory(display_name="Ada Lovelace")
    record(member, "answer")
    InterestScore.objects.filter(member=member).update(score=24.123456789, engagement=14.123456789, fit=10.0)
    StageTransition.objects.create(member=member, from_stage="visitor", to_stage="engaged", engagement=24.987654321,
                                   fit=0.0, occurred_at=timezone.now(), reason="action")
    listing = admin_client.get(reverse("admin:community_scoring_interestscore_changelist")).content.decode()
    assert "24.12" in listing and "14.12" in listing and "10.00" in listing
    assert "24.123456789" not in listing and "14.123456789" not in listing
    assert "sortable column-stored_score" in listing  # the column keeps its ordering link
    page = admin_client.get(reverse("admin:community_scoring_member_change", args=[member.pk])).content.decode()
    assert "InterestScore object" not in page and "StageTransition object" not in page
    assert "interest of Ada Lovelace: 24.1" in page
    assert "visitor -&gt; engaged on" in page
    assert "24.99" in page and "24.987654321" not in page
    transitions = admin_client.get(reverse("admin:community_scoring_stagetransition_changelist")).content.decode()
    assert "24.99" in transitions and "24.987654321" not in transitions


@pytest.mark.django_db
def test_influence_scores_are_rounded(admin_client):
    member = MemberFactory(display_name="Grace Hopper")
    run = InfluenceRun.objects.create(status=InfluenceRun.Status.DONE, duration_seconds=1.23456789)
    InfluenceScore.objects.create(run=run, member=member, centrality=1.2345678e-05, rank=1, percentile=99.87654,
                                  centrality_percentile=99.1, reach_percentile=80.0, sentiment=0.123456789,
                                  influence_base=77.7777777, influence=81.23456789)
    listing = admin_client.get(reverse("admin:influence_influencescore_changelist")).content.decode()
    assert "81.23" in listing and "77.78" in listing and "0.0000123" in listing and "0.123" in listing
    assert "81.23456789" not in listing and "1.2345678e-05" not in listing
    assert "Grace Hopper" in listing
    runs = admin_client.get(reverse("admin:influence_influencerun_changelist")).content.decode()
    assert "1.23" in runs and "1.23456789" not in runs
    assert str(InfluenceScore.objects.get()) == f"influence of Grace Hopper in run {run.pk}: 81.2"


@pytest.mark.django_db
def test_the_admin_loads_the_stylesheet_that_lets_wide_tables_scroll(admin_client):
    page = admin_client.get(reverse("admin:community_scoring_interestscore_changelist")).content.decode()
    assert "community_scoring/admin.css" in page
    found = finders.find("community_scoring/admin.css")
    assert found and "overflow-x: auto" in Path(found).read_text()
