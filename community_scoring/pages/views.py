"""Server-rendered pages for community managers. Thin: each view calls selectors and renders a template."""
from django.db.models import Count
from django.shortcuts import render

from community_scoring.influence import selectors as influence_selectors
from community_scoring.models import Action, InterestScore, Member
from community_scoring.selectors.leaderboards import leaderboard_interest


def home(request):
    """What this is, how big the community is, and (signed in) the top members on each score."""
    context = {
        "members": Member.objects.count(),
        "actions": Action.objects.count(),
        "stages": list(InterestScore.objects.values("stage").annotate(n=Count("pk")).order_by("-n")),
        "run": influence_selectors.influence_run_current(),
    }
    if request.user.is_authenticated and request.user.is_staff:
        context["top_interest"] = leaderboard_interest().rows.order_by("-score", "-member_id")[:10]
        context["top_influence"] = influence_selectors.leaderboard_influence(limit=10)
        context["advocates"] = influence_selectors.advocates(limit=10)
        context["detractors"] = influence_selectors.detractors(limit=10)
    return render(request, "community_scoring/home.html", context)


