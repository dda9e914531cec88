"""Leaderboards: interest, influence, advocates, detractors, rising; by period and persona; paged by cursor."""
from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.pagination import (
    KeysetOrder, KeysetPage, keyset_page, keyset_paginate_ranked, page_size_parse,
)
from community_scoring.api.renderers import FloatJSONRenderer
from community_scoring.api.serializers import LeaderboardPageSerializer
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link
from community_scoring.auth import CanReadMembers, request_can_see_pii
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.leaderboards import (
    BOARD_ID_FIELD, BOARDS, RANK_FIELDS, RISING_CACHED_ROWS, board_rows_value, leaderboard_page, leaderboard_row,
    rising_ranking, rising_rows,
)
from community_scoring.selectors.members import period_since


def _rising_page(period, persona, order, cursor, page_size) -> KeysetPage | None:
    """A rising page from the cached ranking (see rising_ranking); None past its end."""
    ranked = rising_ranking(period=period, persona=persona)
    found = keyset_paginate_ranked(
        ranked=ranked, cut_short=len(ranked) >= RISING_CACHED_ROWS, order=order, cursor=cursor, page_size=page_size
    )
    if found is None:
        return None
    ranked, next_cursor, first = found
    return KeysetPage(rows=rising_rows(ranked, first_position=first), next_cursor=next_cursor, first_position=first)


class LeaderboardApi(APIView):
    """One leaderboard page, highest first. Excluded (staff) members are left out."""

    permission_classes = [CanReadMembers]
    renderer_classes = [FloatJSONRenderer, BrowsableAPIRenderer]

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
        since = period_since(period)
        rank_field = RANK_FIELDS[board]
        order = KeysetOrder(name=f"board:{board}:{period}", value_field=rank_field, id_field=BOARD_ID_FIELD,
                            descending=True)
        page = _rising_page(period, persona, order, params.get("cursor"), page_size) if board == "rising" else None
        if page is not None:
            rows = page.rows
        else:
            page = keyset_page(
                rows_after=lambda after, limit: leaderboard_page(board=board, since=since, persona=persona,
                                                                 after=after, limit=limit),
                order=order, cursor=params.get("cursor"), page_size=page_size,
            )
            rows = [leaderboard_row(values, board=board, position=page.first_position + i, rank_field=rank_field)
                    for i, values in enumerate(page.rows)]
        valued_at = interest_selectors.valued_now()
        rows = board_rows_value(rows, board=board, at=valued_at)
        data = {"board": board, "period": period, "persona": persona, "next": next_link(request, page), "results": rows,
                "valued_at": valued_at}
        return Response(LeaderboardPageSerializer(data, context={"can_see_pii": request_can_see_pii(request)}).data)
