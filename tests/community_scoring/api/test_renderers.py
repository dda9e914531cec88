"""FloatJSONRenderer gives byte for byte what DRF's JSONRenderer gives for bodies with floats, errors included (NaN
and infinities are refused, strict JSON), on random data (hypothesis) and on every form in which orjson writes a
float differently; and it writes the usual body itself (orjson), not through JSONRenderer."""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from community_scoring.api.renderers import FloatJSONRenderer

FAST = settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
# Floats of every magnitude, those orjson writes differently (1e-5 down to 1e-9) among them.
floats = (st.floats(allow_nan=True, allow_infinity=True)
          | st.builds(lambda mantissa, exponent: mantissa * 10.0 ** exponent,
                      st.floats(min_value=-10, max_value=10), st.integers(min_value=-12, max_value=20)))
texts = st.sampled_from(["", "0.00001", "e-7", "Zoë\u2028", "\ud800", "nan"]) | st.text(max_size=8)
values = st.recursive(floats | texts | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans() | st.none(),
                      lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
                      | st.dictionaries(texts, inner, max_size=4), max_leaves=12)


def rendered(renderer, data, media_type="application/json"):
    try:
        return "ok", renderer.render(data, media_type, {})
    except Exception as exc:  # noqa: BLE001 (any error: compared by its type)
        return type(exc).__name__, b""


def expected(data, media_type="application/json"):
    """JSONRenderer's; where it cannot write UTF-8 (a lone surrogate), the ASCII JSON FastJSONRenderer gives."""
    outcome = rendered(JSONRenderer(), data, media_type)
    if outcome[0] == "UnicodeEncodeError":
        return rendered(type("Ascii", (JSONRenderer,), {"ensure_ascii": True})(), data, media_type)
    return outcome


@FAST
@given(values)
def test_float_renderer_matches_drf_json_renderer(data):
    assert rendered(FloatJSONRenderer(), data) == expected(data)
    assert rendered(FloatJSONRenderer(), data, "application/json; indent=2") == expected(data, "application/json; indent=2")


def test_float_renderer_matches_drf_on_the_floats_orjson_writes_differently():
    for value in (1e-05, -2.5e-06, 1e-07, 9.87654321e-08, 1.5e-09, 1e-10, 3e-11, 0.0001, 1e16, 1.5e16, -0.0, 5e-324,
                  1.7976931348623157e308, 0.1, 100.0, 12345.678):
        data = {"results": [{"value": value, "member": {"display_name": "Ada"}, "baseline": None}], "next": None}
        assert FloatJSONRenderer().render(data, "application/json", {}) == JSONRenderer().render(
            data, "application/json", {}), value
    for value in (math.nan, math.inf, -math.inf):  # JSONRenderer refuses them (strict JSON): still refused
        data = {"results": [{"value": 1.0}, {"interest": {"score": value}}]}
        assert rendered(FloatJSONRenderer(), data)[0] == rendered(JSONRenderer(), data)[0] == "ValueError"


def test_a_usual_body_is_written_by_orjson(monkeypatch):
    data = {"results": [{"value": 76.313, "interest": {"score": 20.617264923195535, "engagement": 2.16e-12},
                         "influence": {"centrality": 0.09327983951855567, "base": 102.30000000000001}}],
            "valued_at": "2026-11-20T15:30:12.345678Z", "persona": None}
    body = JSONRenderer().render(data, "application/json", {})
    monkeypatch.setattr(JSONRenderer, "render", lambda *args, **kwargs: b"the slow path")
    assert FloatJSONRenderer().render(data, "application/json", {}) == body
    data["results"][0]["interest"]["engagement"] = 2.16e-06  # orjson: 0.00000216
    assert FloatJSONRenderer().render(data, "application/json", {}) == b"the slow path"
