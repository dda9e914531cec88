"""Every status code an endpoint answers is in the OpenAPI schema, and every error body has a documented shape
(issue 11: schemathesis found sixteen undocumented codes and six 400 bodies outside the error schema)."""
import pytest

from community_scoring.api.exceptions import field_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(token_client):
    return token_client("admin").get("/api/schema/?format=json").json()


def test_every_operation_documents_401_403_429_with_the_detail_body(schema):
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 37
    for path, method, operation in operations:
        responses = operation["responses"]
        assert {"401", "403", "429"} <= set(responses), (method, path, sorted(responses))
        for code in ("401", "403", "429"):
            body = responses[code]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_every_400_is_the_field_errors_shape(schema):
    field_errors_ref = {"$ref": "#/components/schemas/FieldErrors"}
    assert schema["components"]["schemas"]["FieldErrors"]["additionalProperties"] == {
        "type": "array", "items": {"type": "string"}}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if "400" not in operation["responses"]:
                continue
            body = operation["responses"]["400"]["content"]["application/json"]["schema"]
            # A rejected single event (outcome) answers its result, anything else field errors.
            results = {"/api/v1/events/": "IngestResponse", "/api/v1/outcomes/": "OutcomeResponse"}.get(path)
            if results:
                body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
                assert field_errors_ref in body["oneOf"]
                assert {"$ref": f"#/components/schemas/{results}"} in body["oneOf"]
            else:
                assert body == field_errors_ref, (method, path)


def test_the_forum_api_documents_its_403_and_404(schema):
    forum = {(method, path): op for path, item in schema["paths"].items() if path.startswith("/api/v1/forum/")
             for method, op in item.items()}
    assert len(forum) == 10
    assert "forum user" in forum[("get", "/api/v1/forum/categories/")]["responses"]["403"]["description"]
    for key in [("get", "/api/v1/forum/posts/{id}/"), ("post", "/api/v1/forum/posts/{id}/vote/"),
                ("delete", "/api/v1/forum/posts/{id}/vote/"), ("delete", "/api/v1/forum/members/{member_id}/follow/")]:
        assert "404" in forum[key]["responses"], key


def test_nested_validation_errors_are_flattened_to_dotted_fields(token_client):
    response = token_client("admin").post("/api/v1/webhooks/subscriptions/", {
        "name": "crm", "url": "https://crm.example.com/hook", "secret": "s" * 32, "events": ["stage_changed", "nope"]},
        format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["events[1]"]


def test_field_errors_flattens_every_drf_shape():
    assert field_errors({"events": {0: ["bad"]}, "a": ["x"], "n": {"b": ["y"], "c": [{}, {"d": ["z"]}]}}) == {
        "events[0]": ["bad"], "a": ["x"], "n.b": ["y"], "n.c[1].d": ["z"]}
    assert field_errors(["whole body"]) == {"non_field_errors": ["whole body"]}
    assert field_errors("one message") == {"non_field_errors": ["one message"]}
    assert field_errors({"rule_sets": [{"rules": [{}, {"points": ["must be a number"]}]}]}) == {
        "rule_sets[0].rules[1].points": ["must be a number"]}


def test_every_operation_that_takes_a_body_documents_the_413_of_the_body_limit(schema):
    """The body limit (api/limits.py) answers 413 on every endpoint; the fuzz of ingest bodies found it undocumented."""
    with_body = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
                 if "requestBody" in op]
    assert ("/api/v1/events/", "post") in {(path, method) for path, method, _ in with_body} and len(with_body) >= 15
    for path, method, operation in with_body:
        body = operation["responses"]["413"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}, (method, path)
