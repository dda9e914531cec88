"""The admin's "Erase selected members" action: a confirmation page, then the erasure; admins only."""
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from community_scoring.models import Member, MemberErasure
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:community_scoring_member_changelist")


def _erase(client, *members, confirm=False):
    data = {"action": "erase_selected", "_selected_action": [m.pk for m in members]}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data)


def test_the_action_asks_first_then_erases(admin_client):
    ada = MemberFactory(display_name="Ada Admin-Test", email="ada@example.com")
    alias = MemberFactory(merged_into=ada, display_name="Ada at work")
    page = _erase(admin_client, alias)  # an identity: its member is erased, with every identity
    assert page.status_code == 200
    html = page.content.decode()
    assert "Yes, erase them" in html and "Ada Admin-Test" in html and "cannot be undone" in html
    assert Member.objects.get(pk=ada.pk).erased_at is None  # nothing happened yet

    done = _erase(admin_client, alias, confirm=True)
    assert done.status_code == 302
    erasure = MemberErasure.objects.get()
    assert erasure.member_id == ada.pk and erasure.identity_ids == [ada.pk, alias.pk]
    assert erasure.requested_by == "admin"
    assert Member.objects.get(pk=ada.pk).display_name == ""
    # The shell is read-only in the admin; the audit is listed.
    change = reverse("admin:community_scoring_member_change", args=[ada.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"display_name": "Ada again"}).status_code == 403
    assert admin_client.get(reverse("admin:community_scoring_membererasure_changelist")).status_code == 200
    # Selecting her again: nothing left to erase.
    assert "erased already" in _erase(admin_client, ada).content.decode()


def test_staff_without_the_admin_role_cannot_erase(client):
    user = get_user_model().objects.create_user(username="cm", password="a-long-test-password", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="community_manager")[0])
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="community_scoring",
                                                         codename__endswith="_member"))
    client.force_login(user)
    ada = MemberFactory()
    listing = client.get(CHANGELIST).content.decode()
    assert "erase_selected" not in listing and "merge_selected" in listing
    _erase(client, ada, confirm=True)
    assert Member.objects.get(pk=ada.pk).erased_at is None and not MemberErasure.objects.exists()
