"""The admin's live experiments page: start one (B's MQL threshold, or a whole config document), read each
variant's conversion with its interval, stop it and promote a variant in one step. Thin: services in
outcomes.experiments, reads in outcomes.experiment_report. Admins only, as every settings page."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from community_scoring.models import ApiToken, Experiment
from community_scoring.outcomes.experiment_report import experiment_report, experiments_list
from community_scoring.outcomes.experiments import experiment_start, experiment_stop
from community_scoring.pages.access import role_required
from community_scoring.selectors.config import config_snapshot

ADMIN = ApiToken.Role.ADMIN


def _document_from_post(post) -> dict:
    """Variant B's document: the raw JSON when given, else the current configuration with B's MQL threshold."""
    raw = post.get("config_json", "").strip()
    if raw:
        try:
            return json.loads(raw)
        except ValueError as error:
            raise ValidationError({"config_json": [f"not valid JSON: {error}"]})
    threshold = post.get("mql_threshold", "").strip()
    try:
        value = float(threshold)
    except ValueError:
        raise ValidationError({"mql_threshold": ["give B's MQL engagement threshold (a number) or a config JSON"]})
    document = config_snapshot()
    mql = settings.OUTCOME_MQL_STAGE.casefold()
    if not any(s["name"].casefold() == mql for s in document["stages"]):
        raise ValidationError({"mql_threshold": [f"the configuration has no {settings.OUTCOME_MQL_STAGE} stage"]})
    for stage in document["stages"]:
        if stage["name"].casefold() == mql:
            stage["min_engagement"] = value
    return document


def _page(request, *, errors: dict | None = None, status: int = 200):
    rows = [{"experiment": e, "report": experiment_report(experiment=e)} for e in experiments_list()[:20]]
    return render(request, "community_scoring/settings/experiments.html", {
        "rows": rows, "running": any(r["experiment"].status == Experiment.Status.RUNNING for r in rows),
        "errors": errors or {}, "posted": request.POST if request.method == "POST" else {},
        "mql_stage": settings.OUTCOME_MQL_STAGE,
    }, status=status)


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def experiments(request):
    """GET: the experiments with their reports. POST: start one."""
    if request.method == "GET":
        return _page(request)
    try:
        share = float(request.POST.get("share", "50")) / 100
    except ValueError:
        return _page(request, errors={"share": ["the share of new members in B is a percentage"]}, status=400)
    try:
        experiment = experiment_start(name=request.POST.get("name", ""), config_b=_document_from_post(request.POST),
                                      share=share, note=request.POST.get("note", ""), user=request.user)
    except ValidationError as error:
        return _page(request, errors=error.message_dict, status=400)
    messages.success(request, f"Experiment {experiment.name} started.")
    return redirect(reverse("community_scoring:settings-experiments"))


@require_POST
@role_required(ADMIN)
def experiment_stop_page(request, experiment_id: int):
    """Stop the experiment and promote the variant chosen (or none)."""
    if not Experiment.objects.filter(pk=experiment_id).exists():
        raise Http404("No experiment with this id.")
    promote = request.POST.get("promote") or None
    try:
        experiment = experiment_stop(experiment_id=experiment_id, promote=promote, user=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(m for ms in error.message_dict.values() for m in ms))
        return redirect(reverse("community_scoring:settings-experiments"))
    done = f" Variant B is now version {experiment.promoted_version}." if experiment.promoted_version else ""
    messages.success(request, f"Experiment {experiment.name} stopped.{done}")
    return redirect(reverse("community_scoring:settings-experiments"))
