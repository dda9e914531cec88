"""Array literals (bulk.pg_array) come back from PostgreSQL exactly as the Python values they were made of."""
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from community_scoring.store.bulk import pg_array

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL array literals")

# Any text PostgreSQL can store (no NUL), quotes, backslashes, braces, commas and "NULL" included.
text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(values=st.one_of(
    st.lists(text, max_size=8),                                        # the plain-strings fast path, or not
    st.lists(st.one_of(st.none(), text), max_size=8),
    st.lists(st.sampled_from(["a", "b c", "NULL", "", "x,y", "{z}"]), max_size=8),
))
def test_text_arrays_round_trip(values):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [pg_array(values)])
        assert cursor.fetchone()[0] == values


@pytest.mark.django_db
@given(values=st.one_of(st.lists(st.integers(-2**63, 2**63 - 1), max_size=8),
                        st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), max_size=8)))
def test_bigint_arrays_round_trip(values):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::bigint[]", [pg_array(values)])
        assert cursor.fetchone()[0] == values


@pytest.mark.django_db
@given(values=st.lists(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-7, minutes=-30))])),
                       min_size=1, max_size=8))
def test_timestamp_arrays_round_trip(values):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz[]", [pg_array(values)])
        assert cursor.fetchone()[0] == values


def test_text_with_the_literals_markers_falls_back_to_element_escapes():
    assert pg_array(["a\x01b", None, 'q"']) == '{"a\x01b",NULL,"q\\""}'
