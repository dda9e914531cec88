"""The Discourse webhook under hostile input (issue 11): whatever the headers and body, never a 500."""
import json

import pytest

from community_scoring.models import Action, Member
from forum_integration.models import DiscourseInstance
from forum_integration.services.discourse import discourse_signature_valid
from tests.forum_integration import discourse_payloads as d

URL = "/integrations/discourse/webhook/"
SECRET = "s3cret-from-discourse-admin"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def instance(db):
    return DiscourseInstance.objects.create(base_url=d.INSTANCE, source="discourse-acme", secret=SECRET)


def post(client, raw: bytes, **headers):
    data, signed = d.delivery(None, "post_created", SECRET, raw=raw)
    return client.generic("POST", URL, data, content_type="application/json", **{**signed, **headers})


@pytest.mark.parametrize("signature", ["sha256=é" + "0" * 63, "sha256=" + "０" * 64, "sha256=\u2028", "ß"],
                         ids=["latin-1", "fullwidth-digits", "line-separator", "no-prefix"])
def test_a_non_ascii_signature_is_refused_like_any_bad_one(client, signature):
    response = post(client, b'{"ping": "OK"}', HTTP_X_DISCOURSE_EVENT_SIGNATURE=signature)
    assert response.status_code == 403
    assert response.json() == {"detail": "bad X-Discourse-Event-Signature"}
    assert not Action.objects.exists() and not Member.objects.exists()


def test_the_signature_check_takes_any_text():
    body = b"{}"
    assert not discourse_signature_valid(secret=SECRET, body=body, signature="sha256=\udcff")
    assert not discourse_signature_valid(secret=SECRET, body=body, signature="sha256=é")


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b'{"post": ' * 100_000 + b"1" + b"}" * 100_000,
                                 b"{" * 100_000], ids=["lists", "objects", "unclosed"])
def test_a_signed_body_nested_100000_levels_is_400_naming_the_body(client, raw):
    response = post(client, raw)
    assert response.status_code == 400
    assert list(response.json()) == ["body"]
    assert not Action.objects.exists() and not Member.objects.exists()


@pytest.mark.parametrize("user_id", ["1" * 5000, "9" * 20, 2**63, -(2**63) - 1],
                         ids=["5000-digit-string", "20-digit-string", "int64-max+1", "int64-min-1"])
def test_an_id_beyond_the_64_bit_range_is_400_naming_it(client, user_id):
    body = d.post(11, 7, 2, 42, "bob")
    body["post"]["user_id"] = user_id
    data, signed = d.delivery(body, "post_created", SECRET)
    response = client.generic("POST", URL, data, content_type="application/json", **signed)
    assert response.status_code == 400
    assert response.json() == {"post.user_id": ["must be an integer within the 64-bit range"]}
    assert not Action.objects.exists() and not Member.objects.exists()


def test_a_5000_digit_number_in_the_body_is_a_400():
    from django.test import Client

    body = d.post(11, 7, 2, 42, "bob")
    body["post"]["user_id"] = 4242
    raw = json.dumps(body).encode().replace(b'"user_id": 4242', b'"user_id": ' + b"1" * 5000)
    data, signed = d.delivery(None, "post_created", SECRET, raw=raw)
    response = Client().generic("POST", URL, data, content_type="application/json", **signed)
    assert response.status_code == 400
    assert not Action.objects.exists() and not Member.objects.exists()
