"""FastJSONParser and FastJSONRenderer give byte for byte what DRF's JSONParser (as the API runs it: through
DepthSafeJSONParser, which reads bodies nested beyond its recursion limit clipped) and JSONRenderer give, errors
included, on random bodies and data (hypothesis) and on every known difference of orjson from the stdlib. One
difference on purpose: data with a lone surrogate, which JSONRenderer fails to write as UTF-8 (a 500), is written
as ASCII JSON (JSONRenderer with ensure_ascii), the surrogate escaped."""
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ErrorDetail, ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from community_scoring.api.renderers import DepthSafeJSONParser, FastJSONParser, FastJSONRenderer

FAST = settings(max_examples=500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
texts = st.sampled_from(["", "a", "\x00", "\\u0000", "\ud800", "한국", "José", "\u2028", "\u2029", "\x1f\x7f",
                         "\"\\/", "12345678901234567890"]) | st.text(max_size=12)
scalars = (texts | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans() | st.none()
           | st.floats(allow_nan=True, allow_infinity=True))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(texts, inner, max_size=3), max_leaves=8)


def parsed(parser, body: bytes, encoding="utf-8"):
    try:
        return "ok", repr(parser.parse(io.BytesIO(body), "application/json", {"encoding": encoding}))
    except ParseError as exc:
        return "ParseError", str(exc.detail)
    except Exception as exc:  # e.g. RecursionError: the same as today, whatever it is
        return type(exc).__name__, ""


BODY_PARTS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"\\u", b"d800", b"\\ud83d\\ude00", b"1", b"-", b"0",
              b"e", b"E", b"+", b".", b" ", b"\n", b"\t", b"\x0c", b"\x00", b"\xef\xbb\xbf", b"\xff", b"\xc3\xa9",
              b"true", b"null", b"NaN", b"Infinity", b"1e400", b"12345678901234567890", b"-9223372036854775809",
              b"18446744073709551616", b"9223372036854775807", b'"events"', b"\xe2\x80\xa8"]


@FAST
@given(st.one_of(
    json_values.map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.sampled_from(BODY_PARTS), max_size=12).map(b"".join),
    st.binary(max_size=20),
))
def test_fast_parser_matches_drf_json_parser(body):
    assert parsed(FastJSONParser(), body) == parsed(DepthSafeJSONParser(), body) == parsed(JSONParser(), body)


def test_fast_parser_matches_drf_on_known_differences_of_orjson():
    for body in [b'{"a": 18446744073709551616}', b"[-9223372036854775809]", b"[1e400]", b'"\\ud800"', b"NaN",
                 b"\xef\xbb\xbf{}", b"[" * 2000 + b"]" * 2000, b"[" * 900 + b"]" * 900, b'{"a":1,"a":2}',
                 b'{"a": 1.7976931348623157e309}', b"[0.1, -0.0, 1E2, 5e-324]", b"", b" ",
                 b"[1e400, " * 2000 + b"1" + b"]" * 2000, b'[12345678901234567890, ' * 3000 + b"0" + b"]" * 3000]:
        assert parsed(FastJSONParser(), body) == parsed(DepthSafeJSONParser(), body), body
        if parsed(JSONParser(), body)[0] != "RecursionError":
            assert parsed(DepthSafeJSONParser(), body) == parsed(JSONParser(), body), body
    for body in ('{"name": "José"}'.encode("latin-1"), '{"name": "José"}'.encode()):  # the latter reads as JosÃ©
        assert parsed(FastJSONParser(), body, "latin-1") == parsed(JSONParser(), body, "latin-1")
        assert parsed(FastJSONParser(), body, "latin-1")[0] == "ok"


def rendered(renderer, data, media_type="application/json"):
    try:
        return "ok", renderer.render(data, media_type, {})
    except Exception as exc:
        return type(exc).__name__, b""


response_values = st.recursive(
    texts | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans() | st.none()
    | texts.map(ErrorDetail),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=10)


class AsciiJSONRenderer(JSONRenderer):
    ensure_ascii = True


def drf_rendered(data, media_type="application/json"):
    """What JSONRenderer gives; where it cannot write UTF-8 (a lone surrogate), the ASCII JSON the fast one gives."""
    outcome = rendered(JSONRenderer(), data, media_type)
    return rendered(AsciiJSONRenderer(), data, media_type) if outcome[0] == "UnicodeEncodeError" else outcome


@FAST
@given(response_values)
def test_fast_renderer_matches_drf_json_renderer(data):
    assert rendered(FastJSONRenderer(), data) == drf_rendered(data)
    indented = "application/json; indent=4"
    assert rendered(FastJSONRenderer(), data, indented) == drf_rendered(data, indented)


def test_a_lone_surrogate_is_written_escaped_where_drf_fails():
    data = {"results": [{"event_id": "id-\udfff", "status": "rejected", "errors": {"event_id": ["bad \ud800"]}}]}
    assert rendered(JSONRenderer(), data)[0] == "UnicodeEncodeError"
    body = FastJSONRenderer().render(data, "application/json", {})
    assert body == b'{"results":[{"event_id":"id-\\udfff","status":"rejected","errors":{"event_id":["bad \\ud800"]}}]}'
    assert json.loads(body) == data


def test_fast_renderer_matches_drf_on_an_ingest_response():
    data = {"results": [{"event_id": "e-1", "status": "created", "errors": {}},
                        {"event_id": 7, "status": "rejected", "errors": {"text": [ErrorDetail("bad\u2028\x00")]}},
                        {"event_id": None, "status": "rejected", "errors": {"a": ["\u2029é\"\\/\x1f"]}}]}
    assert FastJSONRenderer().render(data, "application/json", {}) == JSONRenderer().render(
        data, "application/json", {})
    assert FastJSONRenderer().render(None) == b""
