from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from community_scoring.auth import request_can_see_pii, request_role
from community_scoring.models import ApiToken


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


@pytest.mark.django_db
def test_demo_access_creates_a_manager_with_pii_and_a_marketing_login_once(client, rf):
    out = StringIO()
    call_command("demo_access", stdout=out)
    first = out.getvalue()
    assert "manager / manager-demo" in first and "marketing / marketing-demo" in first
    call_command("demo_access", stdout=StringIO())
    User = get_user_model()
    assert User.objects.filter(username__in=["manager", "marketing"]).count() == 2
    for name, password, role, pii in [("manager", "manager-demo", "community_manager", True),
                                      ("marketing", "marketing-demo", "marketing", True)]:
        assert client.login(username=name, password=password)
        request = rf.get("/")
        request.user = User.objects.get(username=name)
        assert request_role(request) == role
        assert request_can_see_pii(request) is pii
        assert client.get("/").status_code == 200
