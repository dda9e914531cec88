"""Config documents: snapshot round trip, validation naming fields, apply -> version -> recompute, preview."""
import copy
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from community_scoring.models import ConfigVersion, InterestScore, RecomputeJob, Rule, RuleSet, Stage
from community_scoring.influence.selectors import influence_config_get
from community_scoring.selectors.config import config_snapshot
from community_scoring.services.config import (
    ConfigVersionConflict, config_apply, config_preview, config_validate, influence_config_update,
)
from tests.community_scoring.services.interest_helpers import T0, install_test_config, record, test_config_snapshot
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_shipped_configuration_is_version_1_and_valid():
    version = ConfigVersion.objects.get()
    assert version.number == 1
    assert version.snapshot == config_snapshot()
    config_validate(config_snapshot())


def test_snapshot_round_trips_through_apply():
    install_test_config()
    expected = test_config_snapshot()
    for rule_set in expected["rule_sets"]:
        rule_set["rules"].sort(key=lambda r: r["action_type"])  # the document lists rules by action type
    assert config_snapshot() == expected
    assert Rule.objects.filter(rule_set__persona="developer").count() == 1


@pytest.mark.parametrize("mutate,path", [
    (lambda s: s["rule_sets"][0]["rules"].append({"action_type": "teleport", "points": 1}), "rule_sets[0].rules[9].action_type"),
    (lambda s: s["rule_sets"][0]["rules"][2].update(daily_cap=-1), "rule_sets[0].rules[2].daily_cap"),
    (lambda s: s["rule_sets"][0]["rules"][0].update(points="lots"), "rule_sets[0].rules[0].points"),
    (lambda s: s["rule_sets"][0].update(half_life_days=0), "rule_sets[0].half_life_days"),
    (lambda s: s["rule_sets"][1]["fit_rules"].append({"attribute": "company_size", "operator": "gte", "value": "big",
                                                     "points": 3}), "rule_sets[1].fit_rules[0].value"),
    (lambda s: s["rule_sets"][0]["fit_rules"][0].update(operator="like"), "rule_sets[0].fit_rules[0].operator"),
    (lambda s: s["stages"][1].update(position=0), "stages"),
    (lambda s: s["rule_sets"][1].update(persona=""), "rule_sets"),
    (lambda s: s["rule_sets"].pop(0), "rule_sets"),
    (lambda s: s.update(stages=[]), "stages"),
    (lambda s: s["rule_sets"][0]["rules"].append(dict(s["rule_sets"][0]["rules"][0])), "rule_sets[0].rules[9].action_type"),
])
def test_validation_names_the_field(mutate, path):
    snapshot = copy.deepcopy(test_config_snapshot())
    mutate(snapshot)
    with pytest.raises(ValidationError) as error:
        config_validate(snapshot)
    assert path in error.value.message_dict
    versions = ConfigVersion.objects.count()
    with pytest.raises(ValidationError):
        config_apply(snapshot=snapshot)
    assert ConfigVersion.objects.count() == versions


def test_apply_records_version_and_recomputes(django_capture_on_commit_callbacks):
    install_test_config()
    member = MemberFactory()
    for day in (0, 0.1, 0.2):
        record(member, "answer", day=day)
    assert InterestScore.objects.get(member=member).stage == "engaged"  # 24 points on day 0
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["rules"][0]["points"] = 2  # answer: 8 -> 2
    with django_capture_on_commit_callbacks(execute=True):
        version = config_apply(snapshot=snapshot, note="answers are cheap now")
    assert version.number == 3 and version.note == "answers are cheap now"
    assert version.snapshot["rule_sets"][0]["rules"][0]["points"] == 2
    job = RecomputeJob.objects.get(config_version=3)
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    score = InterestScore.objects.get(member=member)
    assert score.stage == "visitor" and score.config_version == 3
    assert member.stage_transitions.order_by("-id").first().reason == "recompute"


def test_preview_counts_stage_changes_without_writing():
    install_test_config()
    members = [MemberFactory() for _ in range(3)]
    now = (timezone.now() - T0).total_seconds() / 86400 - 0.01
    for m, answers in zip(members, (1, 3, 5)):  # 8, 24, 40 points, decayed by at most 2 ** -0.11 since
        for _ in range(answers):
            record(m, "answer", day=now)
    snapshot = test_config_snapshot()
    snapshot["stages"][1]["min_engagement"] = 30  # engaged now needs 30
    before = (ConfigVersion.objects.count(), list(Stage.objects.values_list("min_engagement", flat=True)))
    preview = config_preview(snapshot=snapshot)
    assert preview["members_changing_stage"] == 1
    assert preview["by_transition"] == {"engaged->visitor": 1}
    assert (ConfigVersion.objects.count(), list(Stage.objects.values_list("min_engagement", flat=True))) == before
    with pytest.raises(ValidationError):
        config_preview(snapshot={"rule_sets": "nope"})


def test_apply_renames_adds_and_removes_rule_sets():
    install_test_config()
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["name"], snapshot["rule_sets"][1]["name"] = "Developers", "Default"  # swap names
    snapshot["rule_sets"].append({"name": "Marketing", "persona": "marketer", "half_life_days": 30,
                                  "inactivity_days": None, "rules": [], "fit_rules": []})
    config_apply(snapshot=snapshot)
    assert dict(RuleSet.objects.values_list("persona", "name")) == {
        "": "Developers", "developer": "Default", "marketer": "Marketing"}
    snapshot["rule_sets"] = snapshot["rule_sets"][:1]
    config_apply(snapshot=snapshot)
    assert list(RuleSet.objects.values_list("persona", flat=True)) == [""]


def test_a_change_read_at_an_older_version_is_refused():
    latest = ConfigVersion.objects.latest("number").number
    stale = {**test_config_snapshot(), "version": latest}
    install_test_config()  # another change: version latest + 1
    with pytest.raises(ConfigVersionConflict) as conflict:
        config_apply(snapshot=stale)
    assert (conflict.value.read_at, conflict.value.latest) == (latest, latest + 1)
    with pytest.raises(ConfigVersionConflict):
        influence_config_update(changes={"damping": 0.9, "version": latest})
    assert ConfigVersion.objects.latest("number").number == latest + 1
    assert influence_config_get()["damping"] == 0.85
    assert config_apply(snapshot={**stale, "version": latest + 1}).number == latest + 2


def test_a_change_with_influence_parameters_applies_both_in_one_version():
    doc = test_config_snapshot()
    doc["stages"][1]["min_engagement"] = 33
    version = config_apply(snapshot={**doc, "influence": {"damping": 0.9}}, note="both")
    assert version.snapshot["influence"]["damping"] == 0.9 and influence_config_get()["damping"] == 0.9
    assert version.snapshot["stages"][1]["min_engagement"] == 33
    with pytest.raises(ValidationError) as error:
        config_apply(snapshot={**doc, "influence": {"damping": 2}})
    assert list(error.value.message_dict) == ["influence.damping"]


@pytest.mark.django_db(transaction=True)
def test_two_changes_read_at_the_same_version_one_is_refused(monkeypatch):
    """The second writer waits for the first one's lock, then sees its version: it cannot overwrite it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    monkeypatch.setattr("community_scoring.tasks.interest_recompute_task.delay", lambda job_id: None)
    read_at = ConfigVersion.objects.latest("number").number
    first_applied, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def change(name: str, points: float, hold: bool) -> None:
        snapshot = {**test_config_snapshot(), "version": read_at}
        snapshot["rule_sets"][0]["rules"][0]["points"] = points
        try:
            with transaction.atomic():
                results[name] = config_apply(snapshot=snapshot).number
                if hold:
                    first_applied.set()
                    release.wait(10)
        except Exception as exc:  # checked below
            results[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=change, args=("first", 11.0, True))
    first.start()
    assert first_applied.wait(10)
    second = threading.Thread(target=change, args=("second", 22.0, False))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first change's lock
    release.set()
    first.join(10)
    second.join(10)
    assert results["first"] == read_at + 1
    assert isinstance(results["second"], ConfigVersionConflict) and results["second"].latest == read_at + 1
    assert Rule.objects.get(rule_set__persona="", action_type_id="answer").points == 11.0


@pytest.mark.parametrize("field, value, message", [
    ("points", "5", "must be a number"),
    ("points", None, "is required and must be a number"),
    ("points", float("nan"), "must be a finite number"),
    ("points", float("inf"), "must be a finite number"),
    ("points", 10 ** 400, "must be at most 1000000000"),
    ("target_points", -(10 ** 400), "must be at least -1000000000"),
    ("daily_cap", 0, "must be greater than 0 (or null for no cap)"),
    ("daily_cap", "10", "must be a number"),
    ("once_only", "true", "must be true or false"),
    ("action_type", {}, "must be an action type key (a string)"),
    ("action_type", "juggle", "unknown action type 'juggle'"),
])
def test_a_rule_field_of_the_wrong_type_gets_its_own_message(field, value, message):
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["rules"][0][field] = value
    with pytest.raises(ValidationError) as error:
        config_validate(snapshot)
    assert error.value.message_dict == {f"rule_sets[0].rules[0].{field}": [message]}


def test_whole_numbers_are_json_integers_in_the_document():
    snapshot = test_config_snapshot()
    snapshot["rule_sets"][0]["inactivity_days"] = 30.0
    snapshot["stages"][0]["position"] = True
    snapshot["stages"][1]["position"] = 2 ** 31
    with pytest.raises(ValidationError) as error:
        config_validate(snapshot)
    assert error.value.message_dict == {
        "rule_sets[0].inactivity_days": ["must be a whole number of days >= 1 (or null)"],
        "stages[0].position": ["must be a whole number >= 0"],
        "stages[1].position": ["must be at most 2147483647"],
    }
