"""The two configuration documents, each described once: the interest configuration and the influence parameters.

These serializers validate every change (the API, a version restore, the admin's influence form and tests all
go through ``community_scoring.services.config``), answer the API, and drf-spectacular turns them into the
OpenAPI schema, so a rule cannot be written in one place and missed in another. They are DRF serializers for
that last reason; they are documents, not HTTP code, and import nothing from the API.

Input is taken strictly, the way JSON means it: a number is a JSON number (not "5", not true), finite and inside
its documented range; a whole number is a JSON integer; text is a JSON string; unknown keys are refused. Errors
come back as ``django.core.exceptions.ValidationError`` whose ``message_dict`` maps the path of each offending
field (``rule_sets[0].rules[2].daily_cap``, ``influence.damping``) to its messages.

Interest document (``config_snapshot()`` returns one)::

    {
      "rule_sets": [                              # exactly one with persona "" (the default set)
        {
          "name": "Default",                      # unique, non-empty, at most 100 characters
          "persona": "",                          # "" = default; else the persona it applies to (unique)
          "half_life_days": 90.0,                 # > 0, or null (default set: no decay; persona set: inherit)
          "inactivity_days": 60,                  # whole number 1..36500, or null (default: off; persona: inherit)
          "rules": [                              # at most one per action type
            {"action_type": "answer",             # an existing ActionType key
             "points": 8.0,                       # to the actor; negative allowed
             "target_points": 0.0,                # to the member acted on; negative allowed
             "daily_cap": 40.0,                   # > 0 or null (no cap): |points| per member per type per day
             "once_only": false}                  # only the member's first such action counts
          ],
          "fit_rules": [
            {"attribute": "job_title", "operator": "contains",   # eq, contains, gte, lte, in
             "value": "engineer", "points": 10.0}                # gte/lte need a numeric value
          ]
        }
      ],
      "stages": [                                 # at least one; unique names and positions
        {"name": "visitor", "position": 0, "min_engagement": 0.0, "min_fit": 0.0}
      ]
    }

Every other number in it (points, caps, thresholds, half-lives) lies within +-1e9. A change of it (what
``PUT /api/v1/config/interest/`` takes) may also carry ``version`` (the version it was read at), ``note`` and
``influence`` (parameters to change in the same version, as versions store them).
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

from community_scoring.models import ActionType
from community_scoring.scoring.fit import OPERATORS, parse_number
from community_scoring.scoring.ruleset import persona_key
from community_scoring.influence.selectors import INFLUENCE_FIELDS, influence_config_load

LIMIT = 1_000_000_000  # the magnitude no number of the interest document may exceed
MAX_INT = 2_147_483_647  # the largest whole number an integer column holds
NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


# --- turning DRF's nested errors into field paths ------------------------------------------------------------

def _error_paths(detail: Any, path: str = "", out: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """{"rule_sets": [{}, {"rules": [{"points": [m]}]}]} -> {"rule_sets[1].rules[0].points": [m]}."""
    out = {} if out is None else out
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if key == NON_FIELD:
                _error_paths(value, path or NON_FIELD, out)
            elif isinstance(key, int):
                _error_paths(value, f"{path}[{key}]", out)
            else:
                _error_paths(value, f"{path}.{key}" if path else str(key), out)
    elif isinstance(detail, list) and not all(isinstance(item, str) for item in detail):
        for i, item in enumerate(detail):
            _error_paths(item, f"{path}[{i}]", out)
    elif detail:
        messages = detail if isinstance(detail, list) else [detail]
        out.setdefault(path or NON_FIELD, []).extend(str(m) for m in messages)
    return out


def document_parse(description: type[serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    """``data`` checked against a document's description: the normalised document, or a ValidationError naming
    each offending field by its path."""
    serializer = description(data=data, **kwargs)
    if not serializer.is_valid():
        raise DjangoValidationError(_error_paths(serializer.errors))
    return serializer.validated_data


def _action_types(field: serializers.Field) -> dict[str, str | None]:
    """Action type key -> the key it reverses (None), read once per validation."""
    context = field.context
    if "action_types" not in context:
        context["action_types"] = dict(ActionType.objects.values_list("key", "reverses_id"))
    return context["action_types"]


# --- fields: strict JSON types with the messages this project gives ------------------------------------------

def _number_error(data: Any, *, low: float | None, high: float | None, low_open: bool = False,
                  high_open: bool = False, integer: bool = False, integral_floats: bool = True) -> str | None:
    """Why ``data`` is not an acceptable number (None when it is). Big integers compare exactly: 10**400 is
    out of range, never an OverflowError."""
    kind = "an integer" if integer else "a number"
    if isinstance(data, bool) or not isinstance(data, (int, float)):
        return f"must be {kind}"
    if isinstance(data, float) and not math.isfinite(data):
        return f"must be {kind}" if integer else "must be a finite number"
    if integer and isinstance(data, float) and not (integral_floats and data.is_integer()):
        return f"must be {kind}"
    if low is not None and (data <= low if low_open else data < low):
        return f"must be {'greater than' if low_open else 'at least'} {_plain(low)}"
    if high is not None and (data >= high if high_open else data > high):
        return f"must be {'less than' if high_open else 'at most'} {_plain(high)}"
    return None


def _plain(bound: float) -> str:
    """1000000000 rather than 1e+09; 1e-15 stays as it is."""
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


class Number(serializers.FloatField):
    """A finite JSON number within [low, high] (an end open when asked); ``low_message`` when only the low
    bound is missed (the interest document's own wording)."""

    def __init__(self, *, low: float, high: float, low_open: bool = False, high_open: bool = False,
                 low_message: str | None = None, **kwargs: Any) -> None:
        self.bounds = {"low": low, "high": high, "low_open": low_open, "high_open": high_open}
        self.low_message = low_message
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", "is required and must be a number")
        kwargs["error_messages"].setdefault("null", "must be a number")
        super().__init__(min_value=low, max_value=high, **kwargs)

    def to_internal_value(self, data: Any) -> float:
        error = _number_error(data, **self.bounds)
        if error and self.low_message and _number_error(data, **{**self.bounds, "low": None}) is None:
            error = self.low_message
        if error:
            raise serializers.ValidationError(error)
        return float(data)


class WholeNumber(serializers.IntegerField):
    """A JSON integer within [low, high]. ``strict`` refuses 5.0 (the interest document); the influence
    parameters take it as 5."""

    def __init__(self, *, low: int, high: int, strict: bool = False, message: str | None = None,
                 **kwargs: Any) -> None:
        self.low, self.high, self.strict, self.message = low, high, strict, message
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", message or "is required and must be an integer")
        kwargs["error_messages"].setdefault("null", message or "must be an integer")
        super().__init__(min_value=low, max_value=high, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        error = _number_error(data, low=self.low, high=self.high, integer=True, integral_floats=not self.strict)
        if error:
            raise serializers.ValidationError(self.message if self.message and "at most" not in error else error)
        return int(data)


class Text(serializers.CharField):
    """A JSON string (not a number), taken as sent; ``message`` for a missing, blank or non-string value."""

    def __init__(self, *, message: str, long_message: str | None = None, **kwargs: Any) -> None:
        self.message = message
        kwargs.setdefault("trim_whitespace", False)
        kwargs["error_messages"] = {"required": message, "null": message, "blank": message, "invalid": message,
                                    "max_length": long_message or message}
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or (not self.allow_blank and not data.strip()):
            raise serializers.ValidationError(self.message)
        return data


class Flag(serializers.BooleanField):
    """JSON true or false (not "true", not 1)."""

    default_error_messages = {"invalid": "must be true or false", "null": "must be true or false",
                              "required": "must be true or false"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ActionTypeKey(serializers.CharField):
    """The key of an existing action type."""

    default_error_messages = {"required": "is required", "null": "must be an action type key",
                              "blank": "unknown action type ''"}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be an action type key (a string)")
        if data not in _action_types(self):
            raise serializers.ValidationError(f"unknown action type {data!r}")
        return data


class FitValue(serializers.CharField):
    """What a fit rule compares with: a string or a finite number, at most 200 characters as text."""

    MESSAGE = "must be a string or number (at most 200 characters)"
    default_error_messages = {"required": MESSAGE, "null": MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str | int | float:
        if isinstance(data, bool) or not isinstance(data, (str, int, float)):
            raise serializers.ValidationError(self.MESSAGE)
        if isinstance(data, float) and not math.isfinite(data):
            raise serializers.ValidationError(self.MESSAGE)
        if (isinstance(data, int) and abs(data) >= 10 ** 200) or len(str(data)) > 200:
            raise serializers.ValidationError(self.MESSAGE)
        return data


class ActionTypeKeys(serializers.ListField):
    """A list of existing action type keys."""

    MESSAGE = "must be a list of action type keys"
    default_error_messages = {"not_a_list": MESSAGE, "null": MESSAGE, "required": MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise serializers.ValidationError(self.MESSAGE)
        unknown = sorted(set(data) - set(_action_types(self)))
        if unknown:
            raise serializers.ValidationError(f"unknown action types: {', '.join(unknown)}")
        return list(data)


class EdgeWeights(serializers.DictField):
    """Action type key -> edge weight (0..1e6); a reversing type (unfollow) takes the weight of the type it
    reverses, so it cannot have its own."""

    MESSAGE = "must be an object mapping action type keys to weights"
    default_error_messages = {"not_a_dict": MESSAGE, "null": MESSAGE, "required": MESSAGE}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.FloatField(), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, float]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(self.MESSAGE)
        types = _action_types(self)
        messages = []
        for key, weight in data.items():
            if key not in types:
                messages.append(f"unknown action type {key!r}")
            elif types[key]:
                messages.append(f"{key!r} reverses {types[key]!r} and takes its weight; set {types[key]!r} instead")
            elif error := _number_error(weight, low=0, high=1e6):
                messages.append(f"{key!r}: {error}")
        if messages:
            raise serializers.ValidationError(messages)
        return {key: float(weight) for key, weight in data.items()}


# --- documents ---------------------------------------------------------------------------------------------

class Items(serializers.ListSerializer):
    """A list of objects; ``message`` when it is not a list (or is empty and must not be)."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        kwargs["error_messages"] = {key: message for key in ("not_a_list", "empty", "null", "required")}
        super().__init__(**kwargs)


class ClosedSerializer(serializers.Serializer):
    """An object whose unknown keys are refused (the schema says so: additionalProperties false).

    ``unknown_alone``: when unknown keys are sent, report only them (a partial change with a misspelt name).
    """

    not_an_object = "must be an object"
    unknown_alone = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.error_messages.update(invalid=self.not_an_object, null=self.not_an_object, required="is required")

    def run_validation(self, data: Any = empty) -> Any:
        if data is None and not self.allow_null:  # DRF would say "No data provided" for a null body
            raise serializers.ValidationError({NON_FIELD: [self.not_an_object]})
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({NON_FIELD: [self.not_an_object]})
        unknown = {key: ["unknown field"] for key in data if key not in self.fields}
        if unknown and self.unknown_alone:
            raise serializers.ValidationError(unknown)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError({**unknown, **error.detail}) from error
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


def _interest_number(help_text: str = "", **kwargs: Any) -> Number:
    return Number(low=-LIMIT, high=LIMIT, help_text=help_text,
                  error_messages={"null": "is required and must be a number"}, **kwargs)


class RuleSerializer(ClosedSerializer):
    """Points for one action type."""

    action_type = ActionTypeKey(help_text="An action type key.")
    points = _interest_number("To the member who acts; negative allowed.")
    target_points = _interest_number("To the member acted on; negative allowed.", required=False, default=0.0)
    daily_cap = Number(low=0, low_open=True, high=LIMIT, allow_null=True, required=False, default=None,
                       low_message="must be greater than 0 (or null for no cap)",
                       help_text="Max |points| per member per day; null = no cap.")
    once_only = Flag(required=False, default=False, help_text="Only the member's first such action counts.")


class FitRuleSerializer(ClosedSerializer):
    """Points from who the member is: attribute OP value."""

    attribute = Text(max_length=64, message="is required (at most 64 characters)")
    operator = serializers.ChoiceField(choices=list(OPERATORS), error_messages={
        key: f"must be one of {', '.join(OPERATORS)}" for key in ("invalid_choice", "required", "null")})
    value = FitValue(help_text="gte and lte need a number (or text starting with one).")
    points = _interest_number()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["operator"] in ("gte", "lte") and parse_number(attrs["value"]) is None:
            raise serializers.ValidationError({"value": f"must be a number for operator {attrs['operator']!r}"})
        return attrs


class RuleSetSerializer(ClosedSerializer):
    """Points per action type, decay and fit for the default set (persona "") or one persona."""

    name = Text(max_length=100, message="is required", long_message="must be at most 100 characters")
    persona = Text(max_length=64, allow_blank=True, allow_null=True, required=False, default="",
                   message="must be a string of at most 64 characters", help_text='"" = the default rule set.')
    half_life_days = Number(low=0, low_open=True, high=LIMIT, allow_null=True, required=False, default=None,
                            low_message="must be greater than 0 (or null)",
                            help_text="Decay half-life; null = none (default set) / inherit (persona set).")
    inactivity_days = WholeNumber(low=1, high=36_500, strict=True, allow_null=True, required=False, default=None,
                                  message="must be a whole number of days >= 1 (or null)",
                                  help_text="Idle days before an inactivity action; null = off / inherit.")
    rules = Items(child=RuleSerializer(), message="must be a list", required=False, default=list)
    fit_rules = Items(child=FitRuleSerializer(), message="must be a list", required=False, default=list)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["persona"] = attrs.get("persona") or ""
        seen: set[str] = set()
        errors: list[dict[str, list[str]]] = []
        for rule in attrs["rules"]:
            action_type = rule["action_type"]
            duplicate = action_type in seen
            seen.add(action_type)
            errors.append({"action_type": [f"duplicate rule for {action_type!r} in this rule set"]} if duplicate else {})
        if any(errors):
            raise serializers.ValidationError({"rules": errors})
        return attrs


class StageSerializer(ClosedSerializer):
    """A named band of the interest score; a member is in the highest stage whose thresholds they meet."""

    name = Text(max_length=64, message="is required (at most 64 characters)")
    position = WholeNumber(low=0, high=MAX_INT, strict=True, message="must be a whole number >= 0")
    min_engagement = _interest_number(required=False, default=0.0)
    min_fit = _interest_number(required=False, default=0.0)


class InterestConfigSerializer(ClosedSerializer):
    """The interest configuration document: rule sets and stages."""

    not_an_object = "must be an object with rule_sets and stages"
    rule_sets = Items(child=RuleSetSerializer(), allow_empty=False, message="must be a non-empty list")
    stages = Items(child=StageSerializer(), allow_empty=False, message="must be a non-empty list")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        names = Counter(rs["name"].strip() for rs in attrs["rule_sets"])
        personas = Counter(persona_key(rs["persona"]) for rs in attrs["rule_sets"])
        errors["rule_sets"] = [f"rule set name {name!r} is used {n} times" for name, n in names.items() if n > 1]
        errors["rule_sets"] += [
            f"persona {persona!r} has {n} rule sets" if persona else "more than one default rule set"
            for persona, n in personas.items() if n > 1
        ]
        if "" not in personas:
            errors["rule_sets"].append('a default rule set (persona "") is required')
        stage_names = Counter(st["name"] for st in attrs["stages"])
        positions = Counter(st["position"] for st in attrs["stages"])
        errors["stages"] = [f"stage name {name!r} is used {n} times" for name, n in stage_names.items() if n > 1]
        errors["stages"] += [f"position {position} is used {n} times" for position, n in positions.items() if n > 1]
        errors = {key: messages for key, messages in errors.items() if messages}
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def _influence_number(help_text: str = "", **kwargs: Any) -> Number:
    return Number(required=False, help_text=help_text, **kwargs)


def _influence_whole(help_text: str = "", **kwargs: Any) -> WholeNumber:
    return WholeNumber(required=False, help_text=help_text, **kwargs)


class InfluenceConfigSerializer(ClosedSerializer):
    """The influence parameters. A change names any subset of them; `version` is the config version it was
    read at (the API answers with the latest one)."""

    not_an_object = "expected an object of field -> value"
    unknown_alone = True

    damping = _influence_number("PageRank damping, 0 < d < 1.", low=0, high=1, low_open=True, high_open=True)
    tolerance = _influence_number("Stop when the L1 change of the scores is below this.", low=1e-15, high=1e-3)
    max_iterations = _influence_whole(low=1, high=100_000)
    edge_weights = EdgeWeights(required=False, help_text="Action type -> edge weight (0..1e6).")
    half_life_days = _influence_number("An edge's weight halves every this many days.", low=0, low_open=True,
                                       high=36_500)
    window_days = _influence_whole("Window for reach and sentiment.", low=1, high=36_500)
    reach_types = ActionTypeKeys(required=False, help_text="Types that count towards reach.")
    text_types = ActionTypeKeys(required=False, help_text="Types whose texts are scored for sentiment.")
    centrality_weight = _influence_number("Weight of the centrality percentile.", low=0, high=1e6)
    reach_weight = _influence_number("Weight of the reach percentile.", low=0, high=1e6)
    sentiment_weight = _influence_number("How far sentiment moves influence, -1..1.", low=-1, high=1)
    sentiment_prior = _influence_number("Pseudo-count of neutral texts shrinking few-text sentiment.", low=0,
                                        high=1e6)
    received_weight = _influence_number("Weight of replies received vs texts written.", low=0, high=1e6)
    evidence_prior = _influence_number(
        "Pseudo-observations of a typical member (percentile 50) in each member's centrality and reach evidence: "
        "with e members behind a percentile, the member's own counts e/(e+k), 50 the rest. 0 = no shrinking.",
        low=0, high=1e6)
    min_texts = _influence_whole("Texts written in the window needed to be flagged advocate or detractor.",
                                 low=0, high=1_000_000)
    advocate_min_influence = _influence_number("Advocate: influence before sentiment (base) at least this.",
                                               low=0, high=100)
    advocate_min_sentiment = _influence_number("Advocate: sentiment at least this.", low=-1, high=1)
    detractor_min_influence = _influence_number("Detractor: influence before sentiment (base) at least this.",
                                                low=0, high=100)
    detractor_max_sentiment = _influence_number("Detractor: sentiment at most this.", low=-1, high=1)
    schedule_minutes = _influence_whole("Scheduled recompute interval; 0 = off.", low=0, high=525_600)
    keep_runs = _influence_whole("Runs whose scores are kept as history.", low=2, high=10_000)
    version = WholeNumber(low=0, high=MAX_INT, strict=True, required=False, allow_null=True,
                          help_text="The config version these parameters were read at. In a change: if another "
                                    "version was saved since, the change is refused (409); null or absent: applies.")
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Rules across parameters hold for the parameters as they will stand (the current ones changed)."""
        current = self.context.get("influence_current") or influence_config_load()
        values = {name: attrs[name] if name in attrs else getattr(current, name) for name in INFLUENCE_FIELDS}
        errors = {}
        if values["centrality_weight"] + values["reach_weight"] <= 0:
            errors["reach_weight"] = ["centrality_weight + reach_weight must be greater than 0"]
        if values["detractor_max_sentiment"] >= values["advocate_min_sentiment"]:
            errors["detractor_max_sentiment"] = ["must be lower than advocate_min_sentiment"]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class InterestConfigChangeSerializer(InterestConfigSerializer):
    """The interest configuration as the API answers it and takes it back: the document, the version it was
    read at, and (in a change) why, and influence parameters to change in the same version."""

    version = WholeNumber(low=0, high=MAX_INT, strict=True, required=False, allow_null=True,
                          help_text="The latest config version (0: never changed). In a change: the version the "
                                    "document was read at; if another version was saved since, the change is "
                                    "refused (409); null or absent: it applies.")
    note = Text(max_length=300, allow_blank=True, allow_null=True, required=False, write_only=True,
                message="must be a string", long_message="must be at most 300 characters",
                help_text="Why (kept in the version).")
    influence = InfluenceConfigSerializer(required=False, write_only=True,
                                          help_text="Influence parameters to change in the same version.")

