from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from community_scoring.models import ApiToken, InterestScore
from tests.factories import MemberFactory


@pytest.mark.django_db
def test_home_shows_counts_to_everyone_and_leaders_only_to_staff(client):
    top = MemberFactory(display_name="Top Scorer")
    InterestScore.objects.create(member=top, score=99, engagement=99, stage="MQL")
    anonymous = client.get("/")
    assert anonymous.status_code == 200
    assert b"Top Scorer" not in anonymous.content and b"Sign in" in anonymous.content
    staff = get_user_model().objects.create_user("cm", password="pw", is_staff=True)
    client.force_login(staff)
    signed_in = client.get("/")
    assert b"Top Scorer" in signed_in.content


@pytest.mark.django_db
def test_demo_access_creates_one_admin_and_a_working_admin_token(api_client):
    out = StringIO()
    call_command("demo_access", stdout=out)
    call_command("demo_access", stdout=out)
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert ApiToken.objects.filter(name="demo-admin", role="admin").count() == 1
    raw = out.getvalue().split("Admin API token: ")[-1].split()[0]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api_client.get("/api/v1/members/").status_code == 200
