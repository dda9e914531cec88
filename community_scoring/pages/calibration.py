"""The admin's calibration page (suggested weights beside the current ones, with held-out AUC and MQL precision of
each; preview, apply, reject) and the offline A/B replay page. Admins only: every other role gets 403.

Thin: runs, previews and decisions go through outcomes/services/calibration.py, replays through
outcomes/services/replay.py (the API's services, with the API's validation).
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from community_scoring.models import ApiToken
from community_scoring.outcomes.models import CalibrationRun
from community_scoring.outcomes.services.calibration import (
    CalibrationStateError, calibration_apply, calibration_preview, calibration_reject, calibration_start,
)
from community_scoring.outcomes.services.replay import replay_compare, replay_variant_document
from community_scoring.pages.access import role_required

ADMIN = ApiToken.Role.ADMIN


def _int_field(post, name: str, default: int, low: int, high: int, errors: dict) -> int:
    raw = (post.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[name] = f"a whole number from {low} to {high}"
        return default
    return int(raw)


def _calibration_page(request, *, run: CalibrationRun | None, preview: dict | None = None, status: int = 200):
    runs = list(CalibrationRun.objects.order_by("-id")[:10])
    run = run or (runs[0] if runs else None)
    return render(request, "community_scoring/settings/calibration.html", {
        "run": run, "runs": runs, "result": run.result if run else None, "preview": preview,
    }, status=status)


def _run_or_404(run_id: int) -> CalibrationRun:
    run = CalibrationRun.objects.filter(pk=run_id).first()
    if run is None:
        raise Http404("No calibration with this id.")
    return run


@require_GET
@role_required(ADMIN)
def calibration_page(request):
    """The latest calibration (or ?run=<id>): progress while it runs, the suggestion and its evaluation once done."""
    run_id = request.GET.get("run", "")
    return _calibration_page(request, run=_run_or_404(int(run_id)) if run_id.isdigit() else None)


@require_POST
@role_required(ADMIN)
def calibration_start_view(request):
    errors: dict[str, str] = {}
    within = _int_field(request.POST, "within_days", 30, 1, 365, errors)
    period = _int_field(request.POST, "period_days", 365, 1, 3650, errors)
    if errors:
        for name, message in errors.items():
            messages.error(request, f"{name}: {message}")
        return redirect(reverse("community_scoring:settings-calibration"))
    with transaction.atomic():
        run = calibration_start(parameters={"within_days": within, "period_days": period,
                                            "fit_half_life": request.POST.get("fit_half_life") == "on"},
                                user=request.user)
    messages.success(request, f"Calibration {run.pk} started.")
    return redirect(reverse("community_scoring:settings-calibration") + f"?run={run.pk}")


@require_GET
@role_required(ADMIN)
def calibration_preview_view(request, run_id: int):
    run = _run_or_404(run_id)
    try:
        preview = calibration_preview(run_id=run_id)
    except CalibrationStateError as error:
        messages.error(request, str(error))
        return _calibration_page(request, run=run, status=400)
    return _calibration_page(request, run=run, preview=preview)


@require_POST
@role_required(ADMIN)
def calibration_decide_view(request, run_id: int, decision: str):
    """Apply (a new config version) or reject a done calibration."""
    _run_or_404(run_id)
    try:
        if decision == "apply":
            run = calibration_apply(run_id=run_id, user=request.user)
            messages.success(request, f"Applied as config version {run.applied_version}; every interest score is "
                                      "being recomputed.")
        else:
            calibration_reject(run_id=run_id, user=request.user)
            messages.success(request, f"Calibration {run_id} rejected; the configuration is unchanged.")
    except CalibrationStateError as error:
        messages.error(request, str(error))
    except ValidationError as error:  # the suggestion no longer fits the configuration's rules
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))
    return redirect(reverse("community_scoring:settings-calibration") + f"?run={run_id}")


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def replay_page(request):
    """Two MQL thresholds replayed on the log: MQLs produced, converted, precision, volume per week."""
    form = {"a": "50", "b": "60", "period_days": "90", "within_days": "30", "capacity": ""}
    if request.method == "GET":
        return render(request, "community_scoring/settings/replay.html", {"form": form})
    form.update({k: (request.POST.get(k) or "").strip() for k in form})
    errors: dict[str, str] = {}
    variants = {}
    for key in ("a", "b"):
        try:
            variants[key] = replay_variant_document(spec={"mql_min_engagement": float(form[key])})
        except ValueError:
            errors[key] = "a number"
        except ValidationError as error:
            errors[key] = "; ".join(m for ms in error.message_dict.values() for m in ms)
    within = _int_field(request.POST, "within_days", 30, 1, 365, errors)
    period = _int_field(request.POST, "period_days", 90, 1, 3650, errors)
    capacity = None
    if form["capacity"]:
        try:
            capacity = float(form["capacity"])
            if not 0 <= capacity <= 1e9:
                raise ValueError
        except ValueError:
            errors["capacity"] = "a number of MQLs per week, 0 or more"
    if errors:
        return render(request, "community_scoring/settings/replay.html", {"form": form, "errors": errors}, status=400)
    result = replay_compare(a=variants["a"], b=variants["b"], period_days=period, within_days=within,
                            capacity_per_week=capacity)
    weeks = range(1, len(result["variants"]["A"]["mqls_per_week"]) + 1)
    rows = [{"week": w, "a": result["variants"]["A"]["mqls_per_week"][w - 1],
             "b": result["variants"]["B"]["mqls_per_week"][w - 1]} for w in weeks]
    return render(request, "community_scoring/settings/replay.html",
                  {"form": form, "result": result, "weeks": rows, "capacity": capacity})
