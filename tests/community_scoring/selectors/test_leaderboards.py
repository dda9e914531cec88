"""selectors.leaderboards on PostgreSQL: an influence board's page is read in its order off an index (influence,
then member id, descending; advocates and detractors off their partial indexes), never sorted."""
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.selectors.leaderboards import leaderboard_page
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")]


@pytest.mark.parametrize("board", ["influence", "advocates", "detractors"])
@pytest.mark.parametrize("after", [None, (50.0, 10**9)])
def test_an_influence_board_page_is_read_off_an_index_in_its_order(board, after):
    run = InfluenceRun.objects.create(status=InfluenceRun.Status.DONE)
    for i, member in enumerate(MemberFactory.create_batch(6)):
        InfluenceScore.objects.create(run=run, member=member, centrality=0.1, rank=i + 1, percentile=50, in_degree=1,
                                      reach=1, influence=float(10 * (i % 3)), is_advocate=i % 2 == 0,
                                      is_detractor=i % 2 == 1)
    with CaptureQueriesContext(connection) as queries:
        assert leaderboard_page(board=board, since=None, persona=None, after=after, limit=3)
    page_sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        # Whatever the tables' size, an index must give the order: a sort costs more than any index scan here.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_incremental_sort = off")
        cursor.execute(f"EXPLAIN {page_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Sort" not in plan, plan
        used = re.search(r"Index Scan using (\S+) on influence_influencescore", plan)
        assert used, plan
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [used[1]])
        (definition,) = cursor.fetchone()
    flag = {"influence": None, "advocates": "is_advocate", "detractors": "is_detractor"}[board]
    assert definition.endswith(f"WHERE {flag}") if flag else "WHERE" not in definition, definition
