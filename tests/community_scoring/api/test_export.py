"""GET /api/v1/members/export/: the filtered list as streamed CSV."""
import csv
import io

import pytest

from community_scoring.api.export import EXPORT_COLUMNS

URL = "/api/v1/members/export/"


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_export_all_members_with_scores(token_client, community):
    rows = rows_of(token_client("marketing").get(URL))
    assert [int(r["id"]) for r in rows] == sorted(
        m.pk for m in (community.alice, community.bob, community.carol, community.dave, community.staff)
    )
    alice = rows[[int(r["id"]) for r in rows].index(community.alice.pk)]
    assert list(alice) == EXPORT_COLUMNS
    assert alice["email"] == "alice@acme.test" and alice["stage"] == "MQL"
    assert float(alice["interest_score"]) == 80.0 and float(alice["influence"]) == 90.0
    assert alice["influence_rank"] == "1" and alice["followers"] == "9"
    dave = rows[[int(r["id"]) for r in rows].index(community.dave.pk)]
    assert dave["influence"] == "" and dave["last_activity_at"] == ""


def test_export_applies_filters_and_ordering(token_client, community):
    rows = rows_of(token_client("admin").get(f"{URL}?persona=developer&ordering=-interest"))
    assert [r["display_name"] for r in rows] == ["Sam Staff", "Alice Anders", "Carol Chen"]


def test_formula_like_text_is_neutralised(token_client, community):
    community.bob.display_name = "=HYPERLINK(\"http://evil\")"
    community.bob.save()
    rows = rows_of(token_client("admin").get(f"{URL}?search=b-2"))
    assert rows[0]["display_name"] == "'=HYPERLINK(\"http://evil\")"


def test_export_with_csv_accept_header(token_client, community):
    assert len(rows_of(token_client("admin").get(URL, HTTP_ACCEPT="text/csv"))) == 5


@pytest.mark.parametrize("query, field", [("min_interest=x", "min_interest"), ("ordering=size", "ordering")])
def test_export_bad_filters_are_400(token_client, community, query, field):
    response = token_client("admin").get(f"{URL}?{query}")
    assert response.status_code == 400 and field in response.json()


def test_export_reads_through_a_server_side_cursor(token_client, community):
    """The rows come from QuerySet.iterator (a named cursor on PostgreSQL), never a list of all rows."""
    from unittest import mock

    from django.db.models.query import QuerySet

    real = QuerySet.iterator
    with mock.patch.object(QuerySet, "iterator", autospec=True, side_effect=real) as iterator:
        rows_of(token_client("admin").get(URL))
    assert iterator.call_count == 1 and iterator.call_args.kwargs["chunk_size"] == 10000
