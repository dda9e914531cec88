"""Leaderboards: interest, influence, advocates, detractors, rising; by period and persona; paged by cursor."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.pagination import (
    KeysetOrder, KeysetPage, keyset_paginate, keyset_paginate_ranked, page_size_parse,
)
from community_scoring.api.serializers import LeaderboardPageSerializer
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link
from community_scoring.auth import CanReadMembers, request_can_see_pii
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.leaderboards import (
    BOARDS, RISING_CACHED_ROWS, board_rows_value, leaderboard_get, leaderboard_row, leaderboard_rows_by_member,
    leaderboard_values, rising_ranking,
)


def _rising_page(period, persona, order, cursor, page_size):
    """A rising page from the cached ranking (see rising_ranking); (None, None) past its end."""
    ranked = rising_ranking(period=period, persona=persona)
    found = keyset_paginate_ranked(
        ranked=ranked, cut_short=len(ranked) >= RISING_CACHED_ROWS, order=order, cursor=cursor, page_size=page_size
    )
    if found is None:
        return None, None
    ranked, next_cursor, first = found
    scores = leaderboard_rows_by_member(member_ids=[member_id for _, member_id, _ in ranked])
    rows = []
    for k, (gain, member_id, baseline) in enumerate(ranked):
        score = scores.get(member_id)
        if score is None:  # deleted since the ranking was computed
            continue
        rows.append({"position": first + k, "value": gain, "member": score.member, "interest": score,
                     "influence": None, "baseline": baseline})
    return rows, KeysetPage(rows=rows, next_cursor=next_cursor, first_position=first)


class LeaderboardApi(APIView):
    """One leaderboard page, highest first. Excluded (staff) members are left out."""

    permission_classes = [CanReadMembers]

    @extend_schema(
        operation_id="leaderboards_retrieve",
        parameters=[
            OpenApiParameter("board", str, OpenApiParameter.PATH, enum=list(BOARDS)),
            OpenApiParameter(
                "period", str, enum=["7d", "30d", "90d", "all"],
                description="rising: gain over the period (default 30d); others: members active in it (default all).",
            ),
            OpenApiParameter("persona", str, description="Only members of this persona."),
            *CURSOR_PARAMETERS,
        ],
        responses={200: LeaderboardPageSerializer, **errors(400, 404)},
        description=(
            "Boards: interest, influence (by influence score), advocates, detractors, rising. An advocate is "
            "influential before any sentiment adjustment (influence base = (a*C + b*R)/(a+b) >= "
            "advocate_min_influence, C and R the evidence-weighted centrality and reach percentiles) and clearly "
            "positive (sentiment >= advocate_min_sentiment) over at least min_texts texts written; a detractor "
            "likewise with sentiment <= detractor_max_sentiment. Each advocate/detractor row carries `reason`. "
            "Excluded (staff) members are never on a board and never flagged."
        ),
    )
    def get(self, request, board: str):
        if board not in BOARDS:
            raise Http404(f"No leaderboard {board!r}; boards: {', '.join(BOARDS)}.")
        params = request.query_params
        period = params.get("period") or ("30d" if board == "rising" else "all")
        persona = params.get("persona") or None
        if persona and "\x00" in persona:
            raise exceptions.ValidationError({"persona": ["must not contain NUL characters"]})
        page_size = page_size_parse(params.get("page_size"))
        leaderboard = leaderboard_get(board=board, period=period, persona=persona)
        order = KeysetOrder(
            name=f"board:{board}:{period}", value_field=leaderboard.rank_field, id_field=leaderboard.id_field,
            descending=True,
        )
        rows, page = None, None
        if board == "rising":
            rows, page = _rising_page(period, persona, order, params.get("cursor"), page_size)
        if rows is None:
            page = keyset_paginate(
                queryset=leaderboard_values(leaderboard), order=order, cursor=params.get("cursor"), page_size=page_size
            )
            rows = [leaderboard_row(values, board=board, position=page.first_position + i,
                                    rank_field=leaderboard.rank_field) for i, values in enumerate(page.rows)]
        valued_at = interest_selectors.valued_now()
        rows = board_rows_value(rows, board=board, at=valued_at)
        data = {"board": board, "period": period, "persona": persona, "next": next_link(request, page), "results": rows,
                "valued_at": valued_at}
        return Response(LeaderboardPageSerializer(data, context={"can_see_pii": request_can_see_pii(request)}).data)
