"""Live threshold/config experiments: start one, stop it and promote the winner in one step.

While an experiment runs, members who join split between the current configuration (A) and the experiment's
document (B) by a hash of their id (scoring.split); the engine scores each by their variant everywhere
(store.base.config_for). Stopping ends the split: promoting B applies its document as a new config version (which
recomputes every score); otherwise the B members are recomputed from the log under the current configuration, so
no member keeps B-derived scores. The report is experiment_report's (outcomes.experiment_report), kept on the
experiment as it stood when it stopped.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from community_scoring.models import Experiment, Member
from community_scoring.outcomes.experiment_report import experiment_participants, experiment_report
from community_scoring.scoring.split import A, B
from community_scoring.selectors.config import config_version_latest, scoring_config_cache_clear
from community_scoring.services.config import config_apply, config_validate
from community_scoring.services.recompute import interest_recompute

DOCUMENT_KEYS = ("rule_sets", "stages")  # what variant B's document holds (a change's version, note, influence: not)


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) and getattr(user, "_meta", None) else None


def experiment_start(*, name: str, config_b: Any, share: float = 0.5, note: str = "", user: Any = None) -> Experiment:
    """Start a live experiment: members joining from now on are split, ``share`` of them scored by ``config_b``
    (an interest document, validated like a config change). At most one runs: ValidationError otherwise."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["give the experiment a name (at most 100 characters)"]
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share < 1:
        errors["share"] = ["the share of new members in B must be a number between 0 and 1 (exclusive)"]
    document = None
    try:
        change = config_validate(config_b)
        document = {key: change[key] for key in DOCUMENT_KEYS}
    except ValidationError as error:
        errors.update({f"config_b.{field}": messages for field, messages in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if Experiment.objects.select_for_update().filter(status=Experiment.Status.RUNNING).exists():
            raise ValidationError({"non_field_errors": ["an experiment is already running: stop it first"]})
        experiment = Experiment.objects.create(
            name=name, config_b=document, share=float(share), note=(note or "")[:300],
            config_version_a=config_version_latest(), started_at=timezone.now(), started_by=_user(user),
            first_member_id=Member.objects.aggregate(top=Max("pk"))["top"] or 0,
        )
    scoring_config_cache_clear()
    return experiment


def experiment_stop(*, experiment_id: int, promote: str | None = None, user: Any = None) -> Experiment:
    """Stop a running experiment and, in the same step, promote a variant: "B" applies B's document as a new
    config version (every score recomputed); "A" or None keeps the current configuration and recomputes the B
    members from the log. The report as it stands is kept on the experiment. Raises Experiment.DoesNotExist,
    or ValidationError naming ``promote`` or the experiment's status."""
    if promote in ("", None):
        promote = None
    elif promote not in (A, B):
        raise ValidationError({"promote": ['promote must be "A", "B" or null']})
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment_id)
        if experiment.status != Experiment.Status.RUNNING:
            raise ValidationError({"non_field_errors": ["this experiment has already stopped"]})
        now = timezone.now()
        report = experiment_report(experiment=experiment, at=now)
        b_members = experiment_participants(experiment=experiment, until=now)[B]
        experiment.status, experiment.stopped_at, experiment.stopped_by = Experiment.Status.STOPPED, now, _user(user)
        experiment.promoted, experiment.report = promote or "", report
        experiment.save()
        scoring_config_cache_clear()
        if promote == B:
            version = config_apply(snapshot=dict(experiment.config_b), user=_user(user),
                                   note=f"experiment {experiment.pk} ({experiment.name}): variant B promoted")
            experiment.promoted_version = version.number
            experiment.save(update_fields=["promoted_version", "updated_at"])
    if promote != B and b_members:
        interest_recompute(member_ids=b_members, reason="experiment stopped")  # scored by the current config again
    return experiment
