"""Hostile input to the configuration endpoints: every wrong type in every field is a 400 naming that field.

Schemathesis found `PUT /api/v1/config/interest/` and `POST .../preview/` answering 500 with `"action_type": {}`.
The bodies are sent as raw JSON text so that numbers JSON allows but Python cannot hold as a float (1e400,
a 401-digit integer) reach the server exactly as a hostile client would send them.
"""
import json

import pytest

from community_scoring.models import ConfigVersion

CONFIG = "/api/v1/config/interest/"
PREVIEW = "/api/v1/config/interest/preview/"
INFLUENCE = "/api/v1/config/influence/"
SLOT = '"@@wrong@@"'
HUGE_INT = "1" + "0" * 400

# Raw JSON values of the wrong type (or out of every range) for each kind of field.
NUMBER_WRONG = ["[]", "{}", "1e400", "-1e400", HUGE_INT, "-" + HUGE_INT, '"NaN"', '"Infinity"', '"5"', "true"]
TEXT_WRONG = ["[]", "{}", "1e400", HUGE_INT, "5", "true"]
FLAG_WRONG = ["[]", "{}", "null", "1e400", HUGE_INT, '"NaN"', '"true"', "1"]
LIST_WRONG = ["{}", "null", '"NaN"', "1e400", HUGE_INT, "true", "5"]


@pytest.fixture
def admin(token_client):
    return token_client("admin")


def _send(client, method, url, doc, wrong):
    """doc with its SLOT replaced by the raw JSON text `wrong`."""
    body = json.dumps(doc).replace(SLOT, wrong)
    assert wrong in body
    return getattr(client, method)(url, data=body, content_type="application/json")


def _interest_doc(admin):
    doc = admin.get(CONFIG).json()
    default = doc["rule_sets"][0]
    assert default["persona"] == "" and default["rules"] and default["fit_rules"]  # the shipped defaults
    return doc


INTEREST_FIELDS = [
    # (where the slot goes, the error key expected, wrong values)
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("action_type", SLOT), "rule_sets[0].rules[0].action_type",
     TEXT_WRONG + ["null", '"NaN"']),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("points", SLOT), "rule_sets[0].rules[0].points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("target_points", SLOT), "rule_sets[0].rules[0].target_points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("daily_cap", SLOT), "rule_sets[0].rules[0].daily_cap",
     NUMBER_WRONG),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("once_only", SLOT), "rule_sets[0].rules[0].once_only",
     FLAG_WRONG),
    (lambda d: d["rule_sets"][0]["rules"].__setitem__(0, SLOT), "rule_sets[0].rules[0]", LIST_WRONG[:1] + ["[]", "5"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("attribute", SLOT),
     "rule_sets[0].fit_rules[0].attribute", TEXT_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("operator", SLOT), "rule_sets[0].fit_rules[0].operator",
     TEXT_WRONG + ["null", '"NaN"']),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("value", SLOT), "rule_sets[0].fit_rules[0].value",
     ["[]", "{}", "null", "1e400", "-1e400", HUGE_INT, "true"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("points", SLOT), "rule_sets[0].fit_rules[0].points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0].__setitem__("name", SLOT), "rule_sets[0].name", TEXT_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0].__setitem__("persona", SLOT), "rule_sets[0].persona", TEXT_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("half_life_days", SLOT), "rule_sets[0].half_life_days", NUMBER_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("inactivity_days", SLOT), "rule_sets[0].inactivity_days",
     NUMBER_WRONG + ["1.5", "36501"]),
    (lambda d: d["rule_sets"][0].__setitem__("rules", SLOT), "rule_sets[0].rules", LIST_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("fit_rules", SLOT), "rule_sets[0].fit_rules", LIST_WRONG),
    (lambda d: d["rule_sets"].__setitem__(0, SLOT), "rule_sets[0]", ["[]", "5", "null", '"NaN"']),
    (lambda d: d["stages"][0].__setitem__("name", SLOT), "stages[0].name", TEXT_WRONG + ["null"]),
    (lambda d: d["stages"][0].__setitem__("position", SLOT), "stages[0].position",
     NUMBER_WRONG + ["null", "1.5", "-1", "2147483648"]),
    (lambda d: d["stages"][0].__setitem__("min_engagement", SLOT), "stages[0].min_engagement", NUMBER_WRONG + ["null"]),
    (lambda d: d["stages"][0].__setitem__("min_fit", SLOT), "stages[0].min_fit", NUMBER_WRONG + ["null"]),
    (lambda d: d["stages"].__setitem__(0, SLOT), "stages[0]", ["[]", "5", "null", '"NaN"']),
    (lambda d: d.__setitem__("rule_sets", SLOT), "rule_sets", LIST_WRONG + ["[]"]),
    (lambda d: d.__setitem__("stages", SLOT), "stages", LIST_WRONG + ["[]"]),
    (lambda d: d.__setitem__("version", SLOT), "version", ["[]", "{}", "1e400", HUGE_INT, '"NaN"', '"1"', "true",
                                                        "-1", "1.5"]),
]


def test_a_dict_as_action_type_is_400_not_500(admin, db):
    """The schemathesis finding, as it was reported: PUT and preview with "action_type": {}."""
    doc = _interest_doc(admin)
    doc["rule_sets"][0]["rules"][0]["action_type"] = {}
    for send in (admin.put, admin.post):
        response = send(CONFIG if send == admin.put else PREVIEW, doc, format="json")
        assert response.status_code == 400, response.content
        assert list(response.json()) == ["rule_sets[0].rules[0].action_type"]


@pytest.mark.parametrize("place, key, wrong_values", INTEREST_FIELDS, ids=[f[1] for f in INTEREST_FIELDS])
def test_wrong_types_in_the_interest_document_are_400_naming_the_field(admin, db, place, key, wrong_values):
    doc = _interest_doc(admin)
    version = doc["version"]
    place(doc)
    for wrong in wrong_values:
        for method, url in (("put", CONFIG), ("post", PREVIEW)):
            if key == "version" and url == PREVIEW:
                continue  # a preview ignores the version (nothing is written)
            response = _send(admin, method, url, doc, wrong)
            assert response.status_code == 400, (wrong, url, response.content)
            body = response.json()
            assert key in body, (wrong, url, body)
            assert all(isinstance(m, str) for messages in body.values() for m in messages)
    assert ConfigVersion.objects.count() == 1 and admin.get(CONFIG).json()["version"] == version


def test_note_must_be_text(admin, db):
    doc = _interest_doc(admin)
    doc["note"] = SLOT
    for wrong in ("[]", "{}", "5", "1e400", HUGE_INT, "true"):
        response = _send(admin, "put", CONFIG, doc, wrong)
        assert response.status_code == 400 and "note" in response.json(), (wrong, response.content)


INFLUENCE_NUMBERS = [
    "damping", "tolerance", "max_iterations", "half_life_days", "window_days", "centrality_weight", "reach_weight",
    "sentiment_weight", "sentiment_prior", "received_weight", "advocate_min_influence", "advocate_min_sentiment",
    "detractor_min_influence", "detractor_max_sentiment", "schedule_minutes", "keep_runs",
]


@pytest.mark.parametrize("field", INFLUENCE_NUMBERS)
def test_wrong_types_in_influence_numbers_are_400_naming_the_field(admin, db, field):
    for wrong in NUMBER_WRONG + ["null"]:
        response = _send(admin, "patch", INFLUENCE, {field: SLOT}, wrong)
        assert response.status_code == 400, (wrong, response.content)
        assert list(response.json()) == [field], (wrong, response.json())
    assert admin.get(INFLUENCE).json()["version"] == 1


@pytest.mark.parametrize("body", [
    {"edge_weights": SLOT}, {"edge_weights": {"follow": SLOT}}, {"reach_types": SLOT}, {"reach_types": [SLOT]},
    {"text_types": SLOT}, {"text_types": [SLOT]},
])
def test_wrong_types_in_influence_collections_are_400_naming_the_field(admin, db, body):
    field = next(iter(body))
    for wrong in ["[]", "{}", "null", "1e400", HUGE_INT, '"NaN"', "true", "5"]:
        if wrong == "[]" and body[field] == SLOT and field != "edge_weights":
            continue  # an empty list of types is allowed
        if wrong == "{}" and body == {"edge_weights": SLOT}:
            continue  # no edge weights at all is allowed (an empty graph)
        response = _send(admin, "patch", INFLUENCE, body, wrong)
        assert response.status_code == 400, (body, wrong, response.content)
        assert list(response.json()) == [field], (body, wrong, response.json())
