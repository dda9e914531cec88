"""The influence parameters' admin form: the same rules as the API, and a saved change is a config version."""
import json

import pytest
from django.urls import reverse

from community_scoring.influence.models import InfluenceConfig
from community_scoring.models import ConfigVersion
from community_scoring.influence.selectors import INFLUENCE_FIELDS, influence_config_get

pytestmark = pytest.mark.django_db


def _form(**changes):
    values = {**influence_config_get(), **changes}
    return {name: json.dumps(values[name]) if isinstance(values[name], (list, dict)) else values[name]
            for name in INFLUENCE_FIELDS}


def test_the_form_refuses_what_the_api_refuses_and_saves_a_version(admin_client):
    InfluenceConfig.objects.create(pk=1)
    url = reverse("admin:influence_influenceconfig_change", args=[1])
    assert admin_client.get(url).status_code == 200
    versions = ConfigVersion.objects.count()
    bad = admin_client.post(url, _form(damping=1.5, edge_weights={"unfollow": 2}, advocate_min_sentiment=-0.5))
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert set(errors) == {"damping", "edge_weights"}  # the rule across fields waits for each field to be valid
    crossed = admin_client.post(url, _form(advocate_min_sentiment=-0.5))
    assert set(crossed.context["adminform"].form.errors) == {"detractor_max_sentiment"}
    assert ConfigVersion.objects.count() == versions
    saved = admin_client.post(url, _form(damping=0.9))
    assert saved.status_code == 302
    version = ConfigVersion.objects.latest("number")
    assert version.number == versions + 1 and version.note == "influence parameters: damping"
    assert version.snapshot["influence"]["damping"] == 0.9 and version.created_by.username == "admin"
    assert InfluenceConfig.objects.get(pk=1).damping == 0.9
