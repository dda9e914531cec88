"""The scoring settings page's HTML form: the configuration document (services/config_documents.py) as named
inputs, and back.

No rule is checked here. Posted text becomes the document the API takes (numbers where the text is a number, the
text itself where it is not, so the document's description refuses it and names the field); the description's
error paths (``rule_sets[0].rules[2].daily_cap``) are mapped back to the inputs they came from, so each message
is shown next to its field.

Inputs: ``rs-<i>-name``, ``rs-<i>-rule-<action type>-points``, ``rs-<i>-fit-<k>-value``, ``stage-<k>-min_fit``,
``inf-damping``, ``inf-edge_weights-<action type>``, ``inf-reach_types`` (checkboxes)...
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from community_scoring.influence.models import InfluenceConfig
from community_scoring.influence.selectors import INFLUENCE_FIELDS
from community_scoring.scoring.fit import OPERATORS
from community_scoring.services.config_documents import InfluenceConfigSerializer

NEW_FIT_ROWS = 2  # blank fit-rule rows under each rule set
RULE_FIELDS = ("points", "target_points", "daily_cap")
STAGE_FIELDS = ("name", "position", "min_engagement", "min_fit")
INFLUENCE_GROUPS = (
    ("Graph (PageRank)", ("damping", "tolerance", "max_iterations", "half_life_days")),
    ("Windows and evidence", ("window_days", "evidence_prior", "min_texts")),
    ("Formula weights", ("centrality_weight", "reach_weight", "sentiment_weight", "sentiment_prior",
                         "received_weight")),
    ("Advocates and detractors", ("advocate_min_influence", "advocate_min_sentiment", "detractor_min_influence",
                                  "detractor_max_sentiment")),
    ("Schedule", ("schedule_minutes", "keep_runs")),
)
TYPE_LISTS = ("reach_types", "text_types")


def _influence_groups() -> list[tuple[str, tuple[str, ...]]]:
    """INFLUENCE_GROUPS, plus any parameter they do not name (a new one shows up without a change here)."""
    named = {n for _, names in INFLUENCE_GROUPS for n in names} | {"edge_weights", *TYPE_LISTS}
    rest = tuple(n for n in INFLUENCE_FIELDS if n not in named)
    return [*INFLUENCE_GROUPS, *([("Other", rest)] if rest else [])]


@dataclass
class Field:
    """One input: its name, the text shown in it (or whether it is checked), and the messages next to it."""

    name: str
    value: str = ""
    checked: bool = False
    label: str = ""
    help: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """min_texts -> "Min texts"."""
        return self.label.replace("_", " ").capitalize()


@dataclass
class ScoringForm:
    """The page's form: rule sets, stages and influence parameters as inputs, plus errors no input owns."""

    rule_sets: list[dict[str, Any]]
    stages: list[dict[str, Field]]
    influence_groups: list[tuple[str, list[Field]]]
    edge_weights: list[Field]
    type_lists: list[tuple[str, list[Field]]]
    version: str
    note: Field = field(default_factory=lambda: Field("note"))
    groups: dict[str, Field] = field(default_factory=lambda: {n: Field(f"inf-{n}") for n in ("edge_weights",
                                                                                             *TYPE_LISTS)})
    errors: list[str] = field(default_factory=list)
    rule_set_errors: list[str] = field(default_factory=list)
    stage_errors: list[str] = field(default_factory=list)
    _paths: dict[str, Field] = field(default_factory=dict)

    def fields(self):
        for rs in self.rule_sets:
            yield from (rs[n] for n in ("name", "persona", "half_life_days", "inactivity_days", "delete"))
            for rule in rs["rules"]:
                yield from (rule[n] for n in (*RULE_FIELDS, "once_only"))
            for fit in rs["fit_rules"]:
                yield from fit.values()
        for stage in self.stages:
            yield from stage.values()
        for _, group in self.influence_groups:
            yield from group
        yield from self.edge_weights
        for _, boxes in self.type_lists:
            yield from boxes
        yield from self.groups.values()
        yield self.note

    def document(self) -> dict[str, Any]:
        """The change as PUT /api/v1/config/interest/ takes it (with "influence", "version" and "note"), and the
        map from each of its paths to the input it came from (kept for errors_show)."""
        self._paths = {}
        rule_sets = []
        for i, rs in enumerate(self.rule_sets):
            if rs["delete"].checked or (rs["new"] and not _filled(rs)):
                continue
            path = f"rule_sets[{len(rule_sets)}]"
            self._paths[path] = rs["name"]
            doc: dict[str, Any] = {"name": rs["name"].value, "persona": rs["persona"].value,
                                   "half_life_days": _number(rs["half_life_days"].value),
                                   "inactivity_days": _number(rs["inactivity_days"].value),
                                   "rules": [], "fit_rules": []}
            for name in ("name", "persona", "half_life_days", "inactivity_days"):
                self._paths[f"{path}.{name}"] = rs[name]
            for rule in rs["rules"]:
                if not (any(rule[n].value.strip() for n in RULE_FIELDS) or rule["once_only"].checked):
                    continue  # no points, no cap: no rule for this action type
                rule_path = f"{path}.rules[{len(doc['rules'])}]"
                entry = {"action_type": rule["action_type"], "points": _number(rule["points"].value),
                         "daily_cap": _number(rule["daily_cap"].value), "once_only": rule["once_only"].checked}
                if rule["target_points"].value.strip():
                    entry["target_points"] = _number(rule["target_points"].value)
                doc["rules"].append(entry)
                self._paths[rule_path] = self._paths[f"{rule_path}.action_type"] = rule["points"]
                for name in (*RULE_FIELDS, "once_only"):
                    self._paths[f"{rule_path}.{name}"] = rule[name]
            for fit in rs["fit_rules"]:
                if not any(fit[n].value.strip() for n in ("attribute", "value", "points")):
                    continue
                fit_path = f"{path}.fit_rules[{len(doc['fit_rules'])}]"
                doc["fit_rules"].append({"attribute": fit["attribute"].value, "operator": fit["operator"].value,
                                         "value": fit["value"].value, "points": _number(fit["points"].value)})
                self._paths[fit_path] = fit["attribute"]
                for name, item in fit.items():
                    self._paths[f"{fit_path}.{name}"] = item
            rule_sets.append(doc)
        stages = []
        for stage in self.stages:
            if not any(stage[n].value.strip() for n in STAGE_FIELDS):
                continue
            path = f"stages[{len(stages)}]"
            stages.append({"name": stage["name"].value, "position": _number(stage["position"].value),
                           "min_engagement": _number(stage["min_engagement"].value),
                           "min_fit": _number(stage["min_fit"].value)})
            self._paths[path] = stage["name"]
            for name in STAGE_FIELDS:
                self._paths[f"{path}.{name}"] = stage[name]
        influence: dict[str, Any] = {}
        for _, group in self.influence_groups:
            for item in group:
                influence[item.label] = _number(item.value)
                self._paths[f"influence.{item.label}"] = item
        influence["edge_weights"] = {w.label: _number(w.value) for w in self.edge_weights if w.value.strip()}
        for name, boxes in self.type_lists:
            influence[name] = [box.label for box in boxes if box.checked]
        for name, holder in self.groups.items():
            self._paths[f"influence.{name}"] = holder
        self._paths["note"] = self.note
        return {"version": _number(self.version), "note": self.note.value, "rule_sets": rule_sets, "stages": stages,
                "influence": influence}

    def errors_show(self, message_dict: dict[str, list[str]]) -> None:
        """Put each message next to the input its path names, or the nearest input above it (saying which part
        it is about), or over the section or the form when no input owns it."""
        if not self._paths:
            self.document()
        for path, messages in message_dict.items():
            if path == "rule_sets":
                self.rule_set_errors += messages
            elif path == "stages":
                self.stage_errors += messages
            elif path in self._paths:
                self._paths[path].errors += messages
            else:
                owner = _parent(path)
                while owner and owner not in self._paths:
                    owner = _parent(owner)
                if owner:
                    part = _readable(path[len(owner):].lstrip("."))
                    self._paths[owner].errors += [f"{part}: {m}" for m in messages]
                else:
                    self.errors += [m if path in ("non_field_errors", "version") else f"{_readable(path)}: {m}"
                                    for m in messages]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.rule_set_errors or self.stage_errors or any(f.errors for f in self.fields()))


def _parent(path: str) -> str:
    """rule_sets[0].rules[2].points -> rule_sets[0].rules[2] -> rule_sets[0] -> rule_sets -> ""."""
    return re.sub(r"(\.[^.\[]+|\[\d+\])$", "", path) if re.search(r"(\.[^.\[]+|\[\d+\])$", path) else ""


def _readable(path: str) -> str:
    return path.replace("_", " ")


def _filled(rs: dict[str, Any]) -> bool:
    return bool(rs["name"].value.strip() or rs["persona"].value.strip()
                or any(rule[n].value.strip() for rule in rs["rules"] for n in RULE_FIELDS))


def _number(text: str) -> Any:
    """Form text as the JSON value it spells: "" -> None, "5" -> 5, "0.85" -> 0.85, anything else as sent (the
    document's description refuses it, naming the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _text(value: Any) -> str:
    """A value as the form shows it: 8.0 -> "8", 0.85 -> "0.85", None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _help(name: str) -> str:
    described = InfluenceConfigSerializer().fields[name].help_text
    return str(described or InfluenceConfig._meta.get_field(name).help_text or "")


# --- building the form: from a document (what is stored) or from a post (what was typed) --------------------

def form_from_document(*, document: dict[str, Any], influence: dict[str, Any], version: int,
                       action_types: list[tuple[str, str, str | None]]) -> ScoringForm:
    """The inputs showing ``document`` and ``influence``; ``action_types`` is [(key, label, reverses)]
    (selectors.config.action_types_for_rules): a rule row each, an edge weight each that reverses nothing."""
    rule_sets = []
    for i, rs in enumerate([*document["rule_sets"], None]):
        rules = {r["action_type"]: r for r in (rs or {}).get("rules", [])}
        fits = [*(rs or {}).get("fit_rules", []), *([{}] * NEW_FIT_ROWS)]
        rule_sets.append(_rule_set(i, rs or {}, rules, fits, action_types, new=rs is None))
    stages = [*document["stages"], {}]
    return ScoringForm(
        rule_sets=rule_sets,
        stages=[{n: Field(f"stage-{k}-{n}", _text(st.get(n))) for n in STAGE_FIELDS} for k, st in enumerate(stages)],
        influence_groups=[(title, [Field(f"inf-{n}", _text(influence.get(n)), label=n, help=_help(n))
                                   for n in names]) for title, names in _influence_groups()],
        edge_weights=[Field(f"inf-edge_weights-{key}", _text((influence.get("edge_weights") or {}).get(key)),
                            label=key, help=label) for key, label, reverses in action_types if not reverses],
        type_lists=[(n, _boxes(n, list(influence.get(n) or []), action_types)) for n in TYPE_LISTS],
        version=str(version),
    )


def _rule_set(i: int, rs: dict[str, Any], rules: dict[str, dict], fits: list[dict], action_types, *,
              new: bool) -> dict[str, Any]:
    prefix = f"rs-{i}"
    return {
        "new": new,
        "is_default": not new and not (rs.get("persona") or ""),
        "name": Field(f"{prefix}-name", _text(rs.get("name"))),
        "persona": Field(f"{prefix}-persona", _text(rs.get("persona"))),
        "half_life_days": Field(f"{prefix}-half_life_days", _text(rs.get("half_life_days"))),
        "inactivity_days": Field(f"{prefix}-inactivity_days", _text(rs.get("inactivity_days"))),
        "delete": Field(f"{prefix}-delete", checked=bool(rs.get("delete"))),
        "rules": [
            {"action_type": key, "label": label,
             **{n: Field(f"{prefix}-rule-{key}-{n}", _text(rules.get(key, {}).get(n))) for n in RULE_FIELDS},
             "once_only": Field(f"{prefix}-rule-{key}-once_only", checked=bool(rules.get(key, {}).get("once_only")))}
            for key, label, _ in action_types
        ],
        "fit_rules": [
            {"attribute": Field(f"{prefix}-fit-{k}-attribute", _text(f.get("attribute"))),
             "operator": Field(f"{prefix}-fit-{k}-operator", f.get("operator") or "eq"),
             "value": Field(f"{prefix}-fit-{k}-value", _text(f.get("value"))),
             "points": Field(f"{prefix}-fit-{k}-points", _text(f.get("points")))}
            for k, f in enumerate(fits)
        ],
    }


def form_from_post(post, *, action_types: list[tuple[str, str, str | None]]) -> ScoringForm:
    """The inputs as typed (the same names form_from_document gives), for a preview, a save, or errors."""
    rule_sets = []
    for i in range(_count(post, "rs-count")):
        prefix = f"rs-{i}"
        rs = {n: post.get(f"{prefix}-{n}", "") for n in ("name", "persona", "half_life_days", "inactivity_days")}
        rs["delete"] = bool(post.get(f"{prefix}-delete"))
        rules = {key: {**{n: post.get(f"{prefix}-rule-{key}-{n}", "") for n in RULE_FIELDS},
                       "once_only": bool(post.get(f"{prefix}-rule-{key}-once_only"))} for key, _, _ in action_types}
        fits = [{n: post.get(f"{prefix}-fit-{k}-{n}", "") for n in ("attribute", "operator", "value", "points")}
                for k in range(_count(post, f"{prefix}-fit-count"))]
        rule_sets.append(_rule_set(i, rs, rules, fits, action_types, new=post.get(f"{prefix}-new") == "1"))
    stages = [{n: Field(f"stage-{k}-{n}", post.get(f"stage-{k}-{n}", "")) for n in STAGE_FIELDS}
              for k in range(_count(post, "stage-count"))]
    return ScoringForm(
        rule_sets=rule_sets,
        stages=stages,
        influence_groups=[(title, [Field(f"inf-{n}", post.get(f"inf-{n}", ""), label=n, help=_help(n))
                                   for n in names]) for title, names in _influence_groups()],
        edge_weights=[Field(f"inf-edge_weights-{key}", post.get(f"inf-edge_weights-{key}", ""), label=key,
                            help=label) for key, label, reverses in action_types if not reverses],
        type_lists=[(n, _boxes(n, post.getlist(f"inf-{n}"), action_types)) for n in TYPE_LISTS],
        version=post.get("version", ""),
        note=Field("note", post.get("note", "")),
    )


def _boxes(name: str, chosen: list[str], action_types) -> list[Field]:
    """A checkbox per action type, the chosen ones first in their order (so an unchanged list posts back
    unchanged), then the others."""
    labels = {key: label for key, label, _ in action_types}
    order = [key for key in dict.fromkeys(chosen) if key in labels] + [key for key in labels if key not in chosen]
    return [Field(f"inf-{name}", key, checked=key in chosen, label=key, help=labels[key]) for key in order]


def _count(post, name: str) -> int:
    try:
        return max(0, min(int(post.get(name, 0)), 1000))
    except (TypeError, ValueError):
        return 0


OPERATOR_CHOICES = list(OPERATORS)
