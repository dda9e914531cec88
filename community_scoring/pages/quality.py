"""/quality/: does the interest score predict conversion? The quality report (outcomes.services.quality) as
headline figures in plain words and server-side charts, for the roles that read the community pages."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.shortcuts import render

from community_scoring.outcomes.services.quality import quality_query_parse, quality_report
from community_scoring.pages import charts
from community_scoring.pages.access import READER_ROLES, role_required
from community_scoring.pages.views import BadQuery, _bad_request
from community_scoring.selectors.members import member_personas

PERIODS = {"30d": "30 days", "60d": "60 days", "90d": "90 days", "180d": "180 days", "365d": "365 days"}


def _day(moment) -> str:
    return f"{moment:%b} {moment.day}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _headlines(r: dict[str, Any]) -> list[dict[str, str]]:
    """The six figures a community manager reads first, each with one sentence saying what it means here."""
    n, t = r["within_days"], _day(r["T"])
    auc, lift, days = r["auc"], r["top_decile_lift"], r["median_days_mql_to_conversion"]
    decided = r["sales_accepted"] + r["sales_rejected"]
    return [
        {"key": "auc", "title": "Ranking quality (AUC)", "value": charts.number(auc, 2),
         "meaning": "Not enough data: it needs members who converted and members who did not." if auc is None else
         f"Take one member who converted and one who did not: {auc * 100:.0f} times in 100 the converter had the "
         "higher score on " + t + ". 50 is a coin toss, 100 is perfect."},
        {"key": "lift", "title": "Top 10% lift", "value": "-" if lift is None else f"{lift:.1f}×",
         "meaning": "Not enough data: nobody converted." if lift is None else
         f"The top tenth by score converted {lift:.1f} times as often as the members on average."},
        {"key": "mql_precision", "title": "MQL precision", "value": _share(r["mql_precision"]),
         "meaning": f"Nobody was an MQL on {t}." if r["mql_precision"] is None else
         f"Of the {r['mql_members']} MQLs on {t}, {r['mql_converted']} converted within {n} days."},
        {"key": "mql_to_sql", "title": "MQL → SQL", "value": _share(r["mql_to_sql_rate"]),
         "meaning": "Nobody became an MQL in the period." if r["mql_to_sql_rate"] is None else
         f"Of the {r['mql_cohort']} members who became MQLs, sales accepted or qualified {r['mql_cohort_sql']} "
         "afterwards."},
        {"key": "acceptance", "title": "Sales acceptance", "value": _share(r["sales_acceptance_rate"]),
         "meaning": "Sales decided on no lead in the period." if not decided else
         f"Sales accepted {r['sales_accepted']} of the {decided} leads they decided on in the period."},
        {"key": "median_days", "title": "Days from MQL to conversion",
         "value": "-" if days is None else charts.number(days, 1),
         "meaning": "No new MQL has converted yet." if days is None else
         f"Half of the {r['mql_conversions']} new MQLs who converted did so within {days:.1f} days."},
    ]


def _charts(r: dict[str, Any]) -> dict[str, str]:
    deciles, stages, weeks = r["by_decile"], r["by_stage"], r["mql_per_week"]
    percent = [None if row["rate"] is None else row["rate"] * 100 for row in deciles]
    return {
        "decile_chart": charts.bar_chart(
            title="Conversion rate per score decile (1 = lowest scores)", labels=[str(row["decile"]) for row in deciles],
            values=percent, name="converted", unit="%", every_label=True, top=100.0),
        "stage_chart": charts.bar_chart(
            title="Conversion rate per stage at T", labels=[row["stage"] for row in stages],
            values=[None if row["rate"] is None else row["rate"] * 100 for row in stages], name="converted",
            unit="%", every_label=True, top=100.0),
        "weekly_chart": charts.bar_chart(
            title="New MQLs per week against sales capacity", labels=[_day(w["week_start"]) for w in weeks],
            values=[w["mql"] for w in weeks], name="new MQLs",
            reference=charts.Reference("Sales capacity", r["capacity_per_week"])),
    }


@role_required(*READER_ROLES)
def quality(request):
    """The quality report for the period, persona and source in the query (400 naming a bad field)."""
    try:
        query = quality_query_parse(params=request.GET)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        return _bad_request(request, BadQuery(field, messages[0]))
    report = quality_report(**query)
    period = request.GET.get("period") or "90d"
    context = {
        "report": report, "headlines": _headlines(report), **_charts(report),
        "periods": {**PERIODS, **({} if period in PERIODS else {period: period})}, "period": period,
        "personas": member_personas(), "form": request.GET,
    }
    return render(request, "community_scoring/quality.html", context)
