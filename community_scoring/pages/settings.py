"""The admin's scoring settings: the whole configuration in one form, a preview naming who changes stage, saving
as a version with a note, the version history with a diff and restore, and a recompute with a live progress bar.

Thin: every change goes through services/config.py (the API's services, with the API's validation) and every
read through selectors; pages/scoring_form.py turns the form into the configuration document and errors back
into messages next to their inputs. Admins only: every other role gets 403.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from community_scoring.influence.selectors import influence_config_get
from community_scoring.models import ApiToken, ConfigVersion
from community_scoring.pages.access import role_required
from community_scoring.pages.scoring_form import OPERATOR_CHOICES, ScoringForm, form_from_document, form_from_post
from community_scoring.selectors.config import action_types_for_rules, config_snapshot, config_version_latest
from community_scoring.selectors.config_versions import config_version_get, config_versions, config_versions_diff
from community_scoring.selectors.members import members_named
from community_scoring.selectors.recompute import (
    recompute_job_for_version, recompute_job_interest, recompute_jobs_interest,
)
from community_scoring.services.config import (
    ConfigVersionConflict, config_apply, config_preview, config_version_restore,
)
from community_scoring.services.recompute import recompute_job_start

ADMIN = ApiToken.Role.ADMIN
MEMBERS_LISTED = 200  # members named per transition in a preview; the rest are counted


def _current_form() -> ScoringForm:
    return form_from_document(document=config_snapshot(), influence=influence_config_get(),
                              version=config_version_latest(), action_types=action_types_for_rules())


def _page(request, form: ScoringForm, *, preview: dict | None = None, status: int = 200):
    job_id = request.GET.get("job", "")
    job = recompute_job_interest(job_id=int(job_id)) if job_id.isdigit() else None
    jobs = recompute_jobs_interest(limit=5)
    context = {
        "form": form,
        "operators": OPERATOR_CHOICES,
        "preview": preview,
        "versions": config_versions(limit=10),
        "latest": config_version_latest(),
        "job": job or (jobs[0] if jobs else None),
        "jobs": jobs,
    }
    return render(request, "community_scoring/settings/scoring.html", context, status=status)


def _preview_named(result: dict) -> list[dict]:
    """The preview's transitions with the members who move, by name (the first MEMBERS_LISTED of each)."""
    named = []
    for transition, count in result["by_transition"].items():
        before, _, after = transition.partition("->")
        ids = result["member_ids_by_transition"].get(transition, [])
        named.append({"before": before, "after": after, "count": count,
                      "members": members_named(member_ids=ids[:MEMBERS_LISTED]),
                      "more": max(0, count - MEMBERS_LISTED)})
    return named


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def scoring_settings(request):
    """GET: the configuration as a form. POST: action=preview (nothing written) or action=save (a new version)."""
    if request.method == "GET":
        return _page(request, _current_form())
    form = form_from_post(request.POST, action_types=action_types_for_rules())
    document = form.document()
    action = request.POST.get("action")
    if action == "preview":
        try:
            result = config_preview(snapshot=document)
        except ValidationError as error:
            form.errors_show(error.message_dict)
            return _page(request, form, status=400)
        return _page(request, form, preview={**result, "transitions": _preview_named(result)})
    if action != "save":
        return HttpResponseBadRequest("action must be preview or save")
    try:
        version = config_apply(snapshot=document, user=request.user)
    except ValidationError as error:
        form.errors_show(error.message_dict)
        return _page(request, form, status=400)
    except ConfigVersionConflict as conflict:
        form.errors.append(str(conflict))
        return _page(request, form, status=409)
    return _saved(request, version, f"Saved as version {version.number}.")


def _saved(request, version: ConfigVersion, message: str):
    job = recompute_job_for_version(number=version.number)
    messages.success(request, message + (" Every interest score is being recomputed." if job else ""))
    query = f"?job={job.pk}" if job else ""
    return redirect(reverse("community_scoring:settings-scoring") + query + "#recompute")


@require_GET
@role_required(ADMIN)
def versions(request):
    """The version history: pick two to compare, or one to restore (via its diff from the latest)."""
    return render(request, "community_scoring/settings/versions.html",
                  {"versions": config_versions(limit=500), "latest": config_version_latest()})


@require_GET
@role_required(ADMIN)
def versions_diff(request):
    """What changed from version ?a= to version ?b= (field by field), with a restore of b when b is not the
    latest."""
    a, b = request.GET.get("a", ""), request.GET.get("b", "")
    if not (a.isdigit() and b.isdigit()):
        return render(request, "community_scoring/settings/diff.html",
                      {"error": "Choose two versions to compare (a and b are version numbers)."}, status=400)
    changes = config_versions_diff(before=int(a), after=int(b))
    if changes is None:
        raise Http404("No config version with this number.")
    latest = config_version_latest()
    return render(request, "community_scoring/settings/diff.html", {
        "a": config_version_get(number=int(a)), "b": config_version_get(number=int(b)), "changes": changes,
        "latest": latest, "restorable": int(b) != latest,
    })


@require_POST
@role_required(ADMIN)
def version_restore(request, number: int):
    """Apply an earlier version again, as a new version (as the API's restore)."""
    if config_version_get(number=number) is None:
        raise Http404("No config version with this number.")
    try:
        version = config_version_restore(number=number, user=request.user, note=request.POST.get("note", "").strip())
    except ValidationError as error:  # a version saved under rules that have since changed
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items()))
        return redirect(reverse("community_scoring:settings-versions"))
    return _saved(request, version, f"Version {number} restored as version {version.number}.")


@require_POST
@role_required(ADMIN)
def recompute_start(request):
    """Start a full interest recompute; the page follows its progress."""
    with transaction.atomic():
        job = recompute_job_start(config_version=config_version_latest())
    messages.success(request, f"Interest recompute {job.pk} started.")
    return redirect(reverse("community_scoring:settings-scoring") + f"?job={job.pk}#recompute")
