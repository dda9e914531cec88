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
MARK = "@@wrong@@"  # placed in a document where the wrong value goes
SLOT = json.dumps(MARK)  # how it reads in the JSON text
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
    """doc with its MARK replaced by the raw JSON text `wrong`."""
    text = json.dumps(doc)
    assert text.count(SLOT) == 1
    body = text.replace(SLOT, wrong)
    return getattr(client, method)(url, data=body, content_type="application/json")


def _interest_doc(admin):
    doc = admin.get(CONFIG).json()
    default = doc["rule_sets"][0]
    assert default["persona"] == "" and default["rules"] and default["fit_rules"]  # the shipped defaults
    return doc


INTEREST_FIELDS = [
    # (where the slot goes, the error key expected, wrong values)
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("action_type", MARK), "rule_sets[0].rules[0].action_type",
     TEXT_WRONG + ["null", '"NaN"']),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("points", MARK), "rule_sets[0].rules[0].points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("target_points", MARK), "rule_sets[0].rules[0].target_points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("daily_cap", MARK), "rule_sets[0].rules[0].daily_cap",
     NUMBER_WRONG),
    (lambda d: d["rule_sets"][0]["rules"][0].__setitem__("once_only", MARK), "rule_sets[0].rules[0].once_only",
     FLAG_WRONG),
    (lambda d: d["rule_sets"][0]["rules"].__setitem__(0, MARK), "rule_sets[0].rules[0]",
     ["[]", "5", "null", '"NaN"', "1e400"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("attribute", MARK),
     "rule_sets[0].fit_rules[0].attribute", TEXT_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("operator", MARK), "rule_sets[0].fit_rules[0].operator",
     TEXT_WRONG + ["null", '"NaN"']),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("value", MARK), "rule_sets[0].fit_rules[0].value",
     ["[]", "{}", "null", "1e400", "-1e400", HUGE_INT, "true"]),
    (lambda d: d["rule_sets"][0]["fit_rules"][0].__setitem__("points", MARK), "rule_sets[0].fit_rules[0].points",
     NUMBER_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0].__setitem__("name", MARK), "rule_sets[0].name", TEXT_WRONG + ["null"]),
    (lambda d: d["rule_sets"][0].__setitem__("persona", MARK), "rule_sets[0].persona", TEXT_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("half_life_days", MARK), "rule_sets[0].half_life_days", NUMBER_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("inactivity_days", MARK), "rule_sets[0].inactivity_days",
     NUMBER_WRONG + ["1.5", "36501"]),
    (lambda d: d["rule_sets"][0].__setitem__("rules", MARK), "rule_sets[0].rules", LIST_WRONG),
    (lambda d: d["rule_sets"][0].__setitem__("fit_rules", MARK), "rule_sets[0].fit_rules", LIST_WRONG),
    (lambda d: d["rule_sets"].__setitem__(0, MARK), "rule_sets[0]", ["[]", "5", "null", '"NaN"']),
    (lambda d: d["stages"][0].__setitem__("name", MARK), "stages[0].name", TEXT_WRONG + ["null"]),
    (lambda d: d["stages"][0].__setitem__("position", MARK), "stages[0].position",
     NUMBER_WRONG + ["null", "1.5", "-1", "2147483648"]),
    (lambda d: d["stages"][0].__setitem__("min_engagement", MARK), "stages[0].min_engagement", NUMBER_WRONG + ["null"]),
    (lambda d: d["stages"][0].__setitem__("min_fit", MARK), "stages[0].min_fit", NUMBER_WRONG + ["null"]),
    (lambda d: d["stages"].__setitem__(0, MARK), "stages[0]", ["[]", "5", "null", '"NaN"']),
    (lambda d: d.__setitem__("rule_sets", MARK), "rule_sets", LIST_WRONG + ["[]"]),
    (lambda d: d.__setitem__("stages", MARK), "stages", LIST_WRONG + ["[]"]),
    (lambda d: d.__setitem__("version", MARK), "version", ["[]", "{}", "1e400", HUGE_INT, '"NaN"', '"1"', "true",
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
    doc["note"] = MARK
    for wrong in ("[]", "{}", "5", "1e400", HUGE_INT, "true"):
        response = _send(admin, "put", CONFIG, doc, wrong)
        assert response.status_code == 400 and "note" in response.json(), (wrong, response.content)


INFLUENCE_NUMBERS = [
    "damping", "tolerance", "max_iterations", "half_life_days", "window_days", "centrality_weight", "reach_weight",
    "sentiment_weight", "sentiment_prior", "received_weight", "advocate_min_influence", "advocate_min_sentiment",
    "detractor_min_influence", "detractor_max_sentiment", "schedule_minutes", "keep_runs", "evidence_prior",
    "min_texts",
]


@pytest.mark.parametrize("field", INFLUENCE_NUMBERS)
def test_wrong_types_in_influence_numbers_are_400_naming_the_field(admin, db, field):
    for wrong in NUMBER_WRONG + ["null"]:
        response = _send(admin, "patch", INFLUENCE, {field: MARK}, wrong)
        assert response.status_code == 400, (wrong, response.content)
        assert list(response.json()) == [field], (wrong, response.json())
    assert admin.get(INFLUENCE).json()["version"] == 1


@pytest.mark.parametrize("body", [
    {"edge_weights": MARK}, {"edge_weights": {"follow": MARK}}, {"reach_types": MARK}, {"reach_types": [MARK]},
    {"text_types": MARK}, {"text_types": [MARK]},
])
def test_wrong_types_in_influence_collections_are_400_naming_the_field(admin, db, body):
    field = next(iter(body))
    for wrong in ["[]", "{}", "null", "1e400", HUGE_INT, '"NaN"', "true", "5"]:
        if wrong == "[]" and body[field] == MARK and field != "edge_weights":
            continue  # an empty list of types is allowed
        if wrong == "{}" and body == {"edge_weights": MARK}:
            continue  # no edge weights at all is allowed (an empty graph)
        if wrong == "5" and body == {"edge_weights": {"follow": MARK}}:
            continue  # a weight of 5 is fine
        response = _send(admin, "patch", INFLUENCE, body, wrong)
        assert response.status_code == 400, (body, wrong, response.content)
        assert list(response.json()) == [field], (body, wrong, response.json())
