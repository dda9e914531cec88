"""Leaderboard responses pinned byte for byte: every board, period and persona, first pages and walks along
`next`, for a caller with and without PII access, against leaderboard_responses.json (recorded from the API).

A change to any field, value, float's digits, order, cursor or link fails here. The community is built with fixed
ids at a fixed instant, so the bodies do not depend on the database's sequences or on the day the suite runs. To
record the file again after a deliberate change of the responses: PIN_LEADERBOARDS_WRITE=1, then review the diff.
"""
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.models import InterestScore, ScoreSnapshot
from community_scoring.selectors.leaderboards import BOARDS
from tests.community_scoring.services.interest_helpers import install_persona_half_lives_config
from tests.factories import MemberFactory

PINNED = Path(__file__).with_name("leaderboard_responses.json")
WRITE = os.environ.get("PIN_LEADERBOARDS_WRITE") == "1"
AT = datetime(2026, 11, 20, 15, 30, 12, 345678, tzinfo=UTC)  # the clock and every read's valued_at
PERIODS = ("7d", "30d", "90d", "all")
PERSONAS = (None, "developer", "nobody")
FIRST_ID = 930_001


@pytest.fixture
def fixed_clock(monkeypatch):
    from community_scoring.selectors import interest

    monkeypatch.setattr(timezone, "now", lambda: AT)
    monkeypatch.setattr(interest, "valued_now", lambda: AT)


def _community():
    """18 members over three personas and none: excluded and erased ones, one without an interest row, scores that
    decayed to a few millionths and less (floats written in exponent form), ties on the board keys, rows stored
    ahead of the read instant; two finished influence runs and one running; daily snapshots for rising."""
    install_persona_half_lives_config(note="pinned leaderboards")
    rng = random.Random(20261120)
    personas = ("developer", "marketer", "", "developer", "designer")
    names = ("Ada", "Ben \u2028Line", "Chloé", "Dov", "Eve", "Fritz", "Gül", "Hana", "Ivo", "Jun", "Kai", "Lea",
             "Mo", "Nia", "Oz", "Pia", "Quinn", "Rui")
    old_run = InfluenceRun.objects.create(id=FIRST_ID, status=InfluenceRun.Status.DONE, finished_at=AT - timedelta(1))
    run = InfluenceRun.objects.create(id=FIRST_ID + 1, status=InfluenceRun.Status.DONE, finished_at=AT, ref_time=AT,
                                      config={"centrality_weight": 0.7, "reach_weight": 0.3, "evidence_prior": 5.0})
    InfluenceRun.objects.create(id=FIRST_ID + 2, status=InfluenceRun.Status.RUNNING)
    for i, name in enumerate(names):
        member = MemberFactory(
            id=FIRST_ID + i, source="pin", external_id=f"p-{i}", display_name=name, email=f"{name[:3].lower()}@pin.test",
            persona=personas[i % len(personas)], is_excluded=i == 5, joined_at=AT - timedelta(days=400 - 7 * i),
            erased_at=AT - timedelta(days=2) if i == 9 else None,
        )
        if i != 4:  # Eve has no interest row
            days_since = rng.uniform(-1.5, 45) if i % 6 else 120 + 10 * i  # some stored ahead of AT, some long idle
            ref_time = AT - timedelta(days=days_since)
            engagement = {2: 3e-6, 6: 1e-3, 8: 4e-5, 12: 1e-3}.get(i) or round(rng.uniform(-8, 95), 3)
            fit = (0.0, 10.0, 20.0, 25.0)[i % 4]
            InterestScore.objects.create(
                member=member, engagement=engagement, fit=fit, score=engagement + fit, stage="engaged",
                primary_topic=("api", "billing", "")[i % 3], sales_stage="SQL" if i == 3 else "",
                last_activity_at=None if i == 10 else ref_time - timedelta(hours=i), ref_time=ref_time,
                rank_key=float(round(engagement + fit, -1)),  # ties: members share a key, the higher id first
            )
            for back, score in ((100, 2.0), (40, 5.5), (31, 10.0 + i), (8, 30.0 - i), (1, 1.5 * i)):
                ScoreSnapshot.objects.create(member=member, date=(AT - timedelta(days=back)).date(), engagement=score,
                                             fit=0.0, score=score, stage="engaged")
        if i % 7 == 6:
            continue  # not scored by the current run
        influence = float(round(rng.uniform(5, 95), 0))  # whole numbers: ties on the influence boards
        sentiment = round(rng.uniform(-0.9, 0.9), 4)
        for scored_by in (old_run, run) if i % 2 else (run,):
            rank = 1 + i
            InfluenceScore.objects.create(
                run=scored_by, member=member, centrality=influence / 997, rank=rank, percentile=100 - 5.25 * i,
                centrality_percentile=100 - 4.5 * i, reach_percentile=37.5 + i, influence_base=influence * 1.1,
                in_degree=3 * i, sources=2 * i, reach=5 + i, sentiment_mean=sentiment, sentiment_count=i % 5 + 1,
                sentiment_positive_share=0.5, sentiment_negative_share=0.25, received_count=i, sentiment=sentiment,
                influence=influence if scored_by is run else 99.0, is_advocate=sentiment >= 0.3,
                is_detractor=sentiment <= -0.3,
            )


def _walk(client, url: str) -> list[str]:
    """The bodies of the pages from `url` along `next`, as sent."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append(response.content.decode())
        url = json.loads(response.content)["next"]
    return pages


def _responses(token_client, monkeypatch) -> dict[str, list[str]]:
    readers = {"cm": token_client("community_manager"), "pii": token_client("marketing")}
    found = {}
    for board in BOARDS:
        for period in PERIODS:
            for persona in PERSONAS:
                query = f"period={period}" + (f"&persona={persona}" if persona else "")
                found[f"cm {board} {query}"] = _walk(readers["cm"], f"/api/v1/leaderboards/{board}/?{query}")
        found[f"pii {board} default"] = _walk(readers["pii"], f"/api/v1/leaderboards/{board}/")
        for query in ("page_size=4", "page_size=3&period=30d&persona=developer"):
            found[f"pii {board} {query}"] = _walk(readers["pii"], f"/api/v1/leaderboards/{board}/?{query}")
    # Rising past its cached ranking: the cached rows first, then the rest live from the same cursors.
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr("community_scoring.selectors.leaderboards.RISING_CACHED_ROWS", 4)
    monkeypatch.setattr("community_scoring.api.views.leaderboards.RISING_CACHED_ROWS", 4)
    for period in PERIODS:
        found[f"cm rising cached 4 period={period}"] = _walk(readers["cm"],
                                                             f"/api/v1/leaderboards/rising/?period={period}&page_size=3")
    return found


def test_leaderboard_responses_are_the_pinned_ones(token_client, fixed_clock, monkeypatch):
    _community()
    found = _responses(token_client, monkeypatch)
    assert sum(len(pages) for pages in found.values()) > 90
    if WRITE:
        PINNED.write_text(json.dumps(found, indent=1, ensure_ascii=True) + "\n")
    pinned = json.loads(PINNED.read_text())
    assert found.keys() == pinned.keys()
    for label, pages in found.items():
        assert len(pages) == len(pinned[label]), label
        for number, (body, expected) in enumerate(zip(pages, pinned[label], strict=True), 1):
            assert body == expected, f"{label}, page {number}"
