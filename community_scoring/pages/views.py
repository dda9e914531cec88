"""Server-rendered pages for community managers, marketing and admins. Thin: each view checks access (one rule,
pages.access), parses its query, calls selectors and renders a template; charts are drawn by pages.charts."""
from __future__ import annotations

import csv
from datetime import date
from io import StringIO

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from community_scoring.auth import request_can_see_pii
from community_scoring.influence import selectors as influence_selectors
from community_scoring.gaming.selectors import member_exclusions
from community_scoring.models import Member
from community_scoring.outcomes.selectors import member_outcomes
from community_scoring.pages import charts
from community_scoring.pages.access import READER_ROLES, role_required
from community_scoring.pages.tables import board_columns, display, plain
from community_scoring.selectors import dashboard as dashboard_selectors
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors import members as member_selectors
from community_scoring.selectors.leaderboards import (
    BOARDS, RISING_CACHED_ROWS, board_rows_value, leaderboard_get, rising_ranking, rising_rows,
)

PAGE_SIZE = 50
BOARD_TITLES = {"interest": "Interest", "influence": "Influence", "advocates": "Advocates",
                "detractors": "Detractors", "rising": "Rising"}
PERIOD_LABELS = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "all": "All time"}


def _day_label(day: date) -> str:
    return day.strftime("%b %d").replace(" 0", " ")


@role_required(*READER_ROLES)
def dashboard(request):
    """The community at a glance: stage funnel, daily trends (precomputed days), leaders, runs and pending work."""
    days = dashboard_selectors.community_days(days=90)
    labels = [_day_label(d.day) for d in days]
    valued_at = interest_selectors.valued_now()
    funnel = dashboard_selectors.stage_funnel(at=valued_at)
    context = {
        "valued_at": valued_at,
        "funnel_chart": charts.funnel_chart(title="Members per stage", steps=funnel),
        "funnel": funnel,
        "actions_chart": charts.bar_chart(title="Actions per day, last 90 days", labels=labels,
                                          values=[d.actions for d in days], name="actions"),
        "trends_chart": charts.line_chart(
            title="Mean interest and influence per day, last 90 days", labels=labels,
            series=[charts.Series("Interest", [d.mean_interest for d in days]),
                    charts.Series("Influence", [d.mean_influence for d in days])]),
        "today": days[-1] if days else None,
        "advocates": influence_selectors.advocates(limit=10),
        "detractors": influence_selectors.detractors(limit=10),
        "rising": board_rows_value(_rising_rows(period="30d", persona=None, offset=0, limit=10) or [],
                                   board="rising", at=valued_at),
        "runs": dashboard_selectors.scoring_runs(limit=3),
    }
    return render(request, "community_scoring/dashboard.html", context)


def _rising_rows(*, period: str, persona: str | None, offset: int, limit: int) -> list[dict] | None:
    """Rows of the rising board from its cached ranking (selectors.leaderboards.rising_ranking); None when the
    page lies beyond the cached rows (the caller queries live)."""
    ranked = rising_ranking(period=period, persona=persona)
    if offset + limit > len(ranked) and len(ranked) >= RISING_CACHED_ROWS:
        return None
    return rising_rows(ranked[offset:offset + limit], first_position=offset + 1)


def _board_row(obj, position: int, board: str, rank_field: str) -> dict:
    if board in ("interest", "rising"):
        interest, influence = obj, None
    else:
        influence = obj
        try:
            interest = obj.member.interest
        except AttributeError:  # no interest row (RelatedObjectDoesNotExist)
            interest = None
    return {"position": position, "value": getattr(obj, rank_field), "member": obj.member, "interest": interest,
            "influence": influence, "baseline": getattr(obj, "baseline", None)}


class BadQuery(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def _board_query(request, board: str) -> dict:
    """period, persona, q and page from the query string; BadQuery naming the field otherwise."""
    params = request.GET
    period = params.get("period") or ("30d" if board == "rising" else "all")
    if period not in member_selectors.PERIODS:
        raise BadQuery("period", f"must be one of {', '.join(member_selectors.PERIODS)}")
    persona = (params.get("persona") or "").strip() or None
    q = (params.get("q") or "").strip()
    for name, value in (("persona", persona or ""), ("q", q)):
        if "\x00" in value or len(value) > 200:
            raise BadQuery(name, "must be at most 200 characters, without NUL")
    try:
        page = int(params.get("page") or 1)
    except ValueError:
        raise BadQuery("page", "must be a whole number") from None
    if not 1 <= page <= 10_000:
        raise BadQuery("page", "must be between 1 and 10000")
    return {"period": period, "persona": persona, "q": q, "page": page}


def _board_rows(board: str, query: dict, *, can_see_pii: bool, at) -> tuple[list[dict], bool]:
    """One page of the board (the selectors rank; this only filters by the search and slices), valued at ``at``,
    and whether a next page exists."""
    offset = (query["page"] - 1) * PAGE_SIZE
    if board == "rising" and not query["q"]:
        rows = _rising_rows(period=query["period"], persona=query["persona"], offset=offset, limit=PAGE_SIZE + 1)
        if rows is not None:
            return board_rows_value(rows[:PAGE_SIZE], board=board, at=at), len(rows) > PAGE_SIZE
    leaderboard = leaderboard_get(board=board, period=query["period"], persona=query["persona"])
    rows = leaderboard.rows
    if query["q"]:
        q = query["q"]
        condition = (Q(member__display_name__icontains=q) | Q(member__external_id=q) | Q(member__crm_id=q))
        if can_see_pii:
            condition |= Q(member__email__icontains=q)
        rows = rows.filter(condition)
    found = list(rows.order_by(f"-{leaderboard.rank_field}", f"-{leaderboard.id_field}")
                 [offset:offset + PAGE_SIZE + 1])
    rows = [_board_row(obj, offset + k + 1, board, leaderboard.rank_field) for k, obj in enumerate(found[:PAGE_SIZE])]
    return board_rows_value(rows, board=board, at=at), len(found) > PAGE_SIZE


def _bad_request(request, error: BadQuery) -> HttpResponse:
    return HttpResponseBadRequest(
        render(request, "community_scoring/bad_request.html", {"error": error}).content)


@role_required(*READER_ROLES)
def leaderboard(request, kind: str):
    """A board by period and persona, searchable, paged; CSV of the same page for roles that may export."""
    if kind not in BOARDS:
        raise Http404(f"No leaderboard {kind!r}")
    try:
        query = _board_query(request, kind)
    except BadQuery as error:
        return _bad_request(request, error)
    can_see_pii = request_can_see_pii(request)
    valued_at = interest_selectors.valued_now()
    rows, has_next = _board_rows(kind, query, can_see_pii=can_see_pii, at=valued_at)
    columns = board_columns(kind, can_see_pii=can_see_pii)

    def link(**changes) -> str:
        params = {k: v for k, v in {**query, **changes}.items() if v not in (None, "")}
        if params.get("page") == 1:
            params.pop("page")
        return "?" + urlencode(params)

    table = [{"member_id": row["member"].pk,
              "cells": [{"key": c.key, "text": display(c, c.read(row)), "numeric": c.decimals is not None}
                        for c in columns]} for row in rows]
    context = {
        "board": kind, "title": BOARD_TITLES[kind], "boards": BOARD_TITLES, "query": query,
        "periods": PERIOD_LABELS, "personas": member_selectors.member_personas(), "columns": columns,
        "table": table, "can_see_pii": can_see_pii,
        "previous_link": link(page=query["page"] - 1) if query["page"] > 1 else None,
        "next_link": link(page=query["page"] + 1) if has_next else None,
        "csv_link": reverse("community_scoring:leaderboard_csv", args=[kind]) + link(),
        "first_position": (query["page"] - 1) * PAGE_SIZE + 1,
        "last_position": (query["page"] - 1) * PAGE_SIZE + len(table),
        "period_label": PERIOD_LABELS[query["period"]], "valued_at": valued_at,
    }
    return render(request, "community_scoring/leaderboard.html", context)


@role_required(*READER_ROLES)
def leaderboard_csv(request, kind: str):
    """Exactly the rows and columns the board page shows for the same query, as CSV (export roles only)."""
    if kind not in BOARDS:
        raise Http404(f"No leaderboard {kind!r}")
    if not request_can_see_pii(request):
        raise PermissionDenied("Export needs the marketing or admin role, or a community manager granted PII access.")
    try:
        query = _board_query(request, kind)
    except BadQuery as error:
        return _bad_request(request, error)
    valued_at = interest_selectors.valued_now()
    rows, _ = _board_rows(kind, query, can_see_pii=True, at=valued_at)
    columns = board_columns(kind, can_see_pii=True)
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow([c.heading for c in columns])
    for row in rows:
        writer.writerow([plain(c, c.read(row)) for c in columns])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"leaderboard-{kind}-{query['period']}" + (f"-{query['persona']}" if query["persona"] else "") + \
        (f"-page{query['page']}" if query["page"] > 1 else "")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    response["Content-Disposition"] = f'attachment; filename="{safe}.csv"'
    response["X-Valued-At"] = valued_at.isoformat()
    return response


@role_required(*READER_ROLES)
def member(request, member_id: int):
    """The unified audience view of one person; a merged identity's id redirects to its member."""
    try:
        person = member_selectors.member_get(member_id=member_id)
    except Member.DoesNotExist:
        raise Http404("No such member") from None
    if person.pk != member_id:
        return redirect("community_scoring:member", member_id=person.pk)
    period = request.GET.get("period") or "90d"
    if period not in member_selectors.PERIODS:
        return _bad_request(request, BadQuery("period", f"must be one of {', '.join(member_selectors.PERIODS)}"))
    audience = member_selectors.member_audience(member=person, period=period)
    interest = audience["interest"]
    standing = None
    if interest is not None:
        standing = interest_selectors.interest_standing(rank_key=person.interest.rank_key)
    history = _score_history(audience)
    context = {
        "person": person, "audience": audience, "interest": interest, "standing": standing,
        "valued_at": audience["valued_at"],
        "influence": audience["influence"], "period": period, "periods": PERIOD_LABELS,
        "can_see_pii": request_can_see_pii(request),
        "history_chart": charts.line_chart(
            title=f"Interest and influence of {person.display_name or person.external_id} per day",
            labels=[_day_label(d) for d in history["days"]],
            series=[charts.Series("Interest", history["interest"]), charts.Series("Influence", history["influence"])]),
        "history_points": len(history["days"]),
        "examples": member_selectors.member_sentiment_examples(member=person, limit=3),
        "recent": member_selectors.member_recent_actions(member=person, limit=20),
        "targets": member_selectors.member_targets(member=person, limit=10),
        "stage_history": list(audience["stage_history"][:20]),
        "exclusions": member_exclusions(member_id=person.pk),  # gaming flags: the engine's selectors know no gaming
        "outcomes": member_outcomes(member_id=person.pk, limit=20),
    }
    return render(request, "community_scoring/member.html", context)


def _score_history(audience: dict) -> dict:
    """One point per day: the interest snapshot and the influence snapshot of that day (None where missing)."""
    interest = {s.date: s.score for s in audience["score_history"]["points"]}
    influence = {h["day"]: h["influence"] for h in (audience["influence"] or {}).get("history", [])}
    since = audience["score_history"]["since"]
    days = sorted(d for d in set(interest) | set(influence) if since is None or d >= since)
    return {"days": days, "interest": [interest.get(d) for d in days], "influence": [influence.get(d) for d in days]}
