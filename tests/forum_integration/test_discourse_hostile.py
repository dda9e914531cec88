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


# Found by tests/fuzz_bodies.py (the hypothesis fuzz of Discourse deliveries):

def _deliver(client, body, event, event_id=2):
    data, signed = d.delivery(body, event, SECRET, event_id=event_id)
    return client.generic("POST", URL, data, content_type="application/json", **signed)


@pytest.mark.parametrize("name, message", [("a\x00b", "must not contain NUL characters"),
                                           ("\ud800", "is not valid Unicode"), ("x" * 201, "at most 200 characters")],
                         ids=["NUL", "lone-surrogate", "201-chars"])
@pytest.mark.parametrize("event", ["post_liked", "accepted_solution"])
def test_a_bad_post_author_name_is_400_naming_it_and_writes_nothing(client, event, name, message):
    """The liked or accepted post's author name was written to the member before anything checked it: the database
    refused it (a 500), after the rows written before it."""
    assert _deliver(client, d.topic(7, 1, "owner"), "topic_created", event_id=1).status_code == 200
    post = d.post_object(11, 7, 2, 42, "bob")
    post["name"] = name
    body, where = (d.like(post, 43, "cy"), "like.post") if event == "post_liked" else (d.solved(post), "solved")
    rows = Action.objects.count(), Member.objects.count()
    response = _deliver(client, body, event)
    assert response.status_code == 400
    assert response.json() == {f"{where}.name": [message]}
    assert (Action.objects.count(), Member.objects.count()) == rows


def test_a_good_post_author_name_is_written_with_the_like(client):
    post = d.post_object(11, 7, 2, 42, "bob")
    response = _deliver(client, d.like(post, 43, "cy"), "post_liked")
    assert response.status_code == 200 and response.json()["status"] == "recorded"
    assert Member.objects.get(source="discourse-acme", external_id="42").display_name == "Bob"


@pytest.mark.parametrize("slug", [5, True, {"a": 1}, ["api"]], ids=["int", "bool", "object", "list"])
@pytest.mark.parametrize("event, where", [("topic_created", "topic"), ("post_created", "post"),
                                          ("post_liked", "like.post"), ("accepted_solution", "solved")])
def test_a_category_slug_that_is_not_text_is_400_naming_it(client, event, where, slug):
    """A number or object there was sliced as if text (a 500)."""
    assert _deliver(client, d.topic(7, 1, "owner", category_id=9), "topic_created", event_id=1).status_code == 200
    post = d.post_object(11, 7, 2, 42, "bob", category_id=9)
    body = {"topic_created": d.topic(8, 42, "bob", category_id=9), "post_created": {"post": post},
            "post_liked": d.like(post, 43, "cy"), "accepted_solution": d.solved(post)}[event]
    obj = body[where.split(".")[0]]
    obj = obj["post"] if where == "like.post" else obj
    obj["category_slug"] = slug
    rows = Action.objects.count(), Member.objects.count()
    response = _deliver(client, body, event)
    assert response.status_code == 400
    assert response.json() == {f"{where}.category_slug": ["must be a string"]}
    assert (Action.objects.count(), Member.objects.count()) == rows


@pytest.mark.parametrize("tags", [3, True, "api", {"name": "api"}], ids=["int", "bool", "text", "object"])
def test_topic_tags_that_are_not_a_list_are_400_naming_them(client, tags):
    """A number there was iterated (a 500)."""
    body = d.topic(7, 42, "bob")
    body["topic"]["tags"] = tags
    response = _deliver(client, body, "topic_created")
    assert response.status_code == 400
    assert response.json() == {"topic.tags": ["must be a list"]}
    assert not Action.objects.exists() and not Member.objects.exists()


@pytest.mark.parametrize("post_type", [[1, "a"], {"id": 1}, 1.5, 2 ** 63], ids=["list", "object", "float", "2**63"])
def test_a_post_type_that_is_not_an_integer_is_400_naming_it(client, post_type):
    """A list or object there was looked up in a set (a 500)."""
    body = d.post(11, 7, 2, 42, "bob")
    body["post"]["post_type"] = post_type
    response = _deliver(client, body, "post_created")
    assert response.status_code == 400
    assert response.json() == {"post.post_type": ["must be an integer within the 64-bit range"]}
    assert not Action.objects.exists() and not Member.objects.exists()


def test_a_post_type_given_as_digits_is_read_as_its_number(client):
    body = d.post(11, 7, 2, 42, "bob")
    body["post"]["post_type"] = "3"  # small action: ignored
    response = _deliver(client, body, "post_created")
    assert response.status_code == 200 and response.json()["status"] == "ignored"


def test_an_instance_header_with_a_nul_is_an_unknown_instance(client):
    """The header went into the instance lookup as it was: PostgreSQL refused the NUL (a 500)."""
    data, signed = d.delivery(d.topic(7, 42, "bob"), "topic_created", SECRET, instance=d.INSTANCE + "\x00")
    response = client.generic("POST", URL, data, content_type="application/json", **signed)
    assert response.status_code == 403
    assert response.json() == {"detail": "no webhook secret configured for this Discourse instance"}
    assert not Action.objects.exists() and not Member.objects.exists()


def test_a_nul_in_the_delivery_id_is_400_naming_the_header(client):
    """The delivery id is kept in the action's metadata; refused there, the answer named `metadata`."""
    data, signed = d.delivery(d.post(11, 7, 1, 42, "bob"), "post_created", SECRET, event_id="7\x00junk")
    response = client.generic("POST", URL, data, content_type="application/json", **signed)
    assert response.status_code == 400
    assert response.json() == {"X-Discourse-Event-Id": ["must not contain NUL characters"]}
    assert not Action.objects.exists() and not Member.objects.exists()
