"""The Discourse webhook under hostile input (issue 11): whatever the headers and body, never a 500."""
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
