"""Bodies the JSON parser cannot read as sent (issue 11): nested beyond its recursion limit, or malformed.

Every endpoint answers the documented 400 shape, `{"<field>": ["message", ...]}`, never a 500 or `{"detail"}`.
`json_nesting_clip` is checked against an independent clip of the parsed value.
"""
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from community_scoring.api.renderers import JSON_NESTING_KEPT, json_nesting_clip
from community_scoring.models import ConfigVersion

DEEP = "[" * 100_000 + "]" * 100_000
ENDPOINTS = [("PUT", "/api/v1/config/interest/"), ("POST", "/api/v1/config/interest/preview/"),
             ("PATCH", "/api/v1/config/influence/"), ("POST", "/api/v1/webhooks/subscriptions/")]


@pytest.mark.django_db
@pytest.mark.parametrize("method, url", ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP, '{"rule_sets": ' + DEEP + "}", "{", '{"a": tru}'],
                         ids=["deep-list", "deep-field", "unclosed", "bad-literal"])
def test_unreadable_bodies_are_400_in_the_documented_shape(token_client, method, url, body):
    versions = ConfigVersion.objects.count()
    response = token_client("admin").generic(method, url, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    errors = response.json()
    assert isinstance(errors, dict) and errors and "detail" not in errors, errors
    assert all(isinstance(messages, list) and all(isinstance(m, str) for m in messages) for messages in errors.values())
    assert ConfigVersion.objects.count() == versions


def _clipped(value, levels: int, depth: int = 1):
    """The reference: `value` with each list or dict deeper than `levels` replaced by None."""
    if isinstance(value, (list, dict)) and depth > levels:
        return None
    if isinstance(value, list):
        return [_clipped(item, levels, depth + 1) for item in value]
    if isinstance(value, dict):
        return {key: _clipped(item, levels, depth + 1) for key, item in value.items()}
    return value


texts = st.sampled_from(['"', "\\", "[", "]", "{", "}", '\\"[', "]\\", "a"]) | st.text(max_size=6)
values = st.recursive(texts | st.integers() | st.booleans() | st.none(),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                      max_leaves=20)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(value=values, levels=st.integers(min_value=1, max_value=5), ascii_only=st.booleans())
def test_the_clip_matches_clipping_the_parsed_value(value, levels, ascii_only):
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert json.loads(json_nesting_clip(body, levels)) == _clipped(value, levels)


def test_a_body_within_the_levels_is_kept_byte_for_byte():
    body = b'{"a": [1, {"b": "]}[{\\"\\\\", "c": [[[]]]}], "d": "\\u005b"}'
    assert json.loads(body)["a"][1]["b"] == ']}[{"\\'
    assert json_nesting_clip(body, 6) == json_nesting_clip(body, 7) == body
    assert json_nesting_clip(body, 4) == b'{"a": [1, {"b": "]}[{\\"\\\\", "c": [null]}], "d": "\\u005b"}'
    assert json_nesting_clip(body, 3) == b'{"a": [1, {"b": "]}[{\\"\\\\", "c": null}], "d": "\\u005b"}'


def test_the_clip_keeps_the_levels_it_promises():
    clipped = json.loads(json_nesting_clip(DEEP.encode()))
    depth = 0
    while isinstance(clipped, list):
        depth, clipped = depth + 1, (clipped[0] if clipped else None)
    assert depth == JSON_NESTING_KEPT and clipped is None


def test_an_unterminated_string_cannot_make_the_clip_slow():
    """A quote followed by half a million escaped quotes never closes: one pass over it, not one per quote."""
    body = b"[" * 200 + b'"' + b'\\"' * 500_000
    started = time.perf_counter()
    json_nesting_clip(body)
    assert time.perf_counter() - started < 2.0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/forum/posts/%0A/vote/", "/api/v1/members/%0A/", "/api/v1/nope%0Anope/"])
def test_a_newline_in_an_api_path_is_a_json_404(token_client, path):
    response = token_client("admin").post(path) if "vote" in path else token_client("admin").get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json" and "detail" in response.json()
