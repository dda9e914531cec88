"""System checks of the database (community_scoring.checks)."""
import pytest
from django.db import connection

from community_scoring.checks import autovacuum_on

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


@pytest.mark.django_db
def test_a_server_without_autovacuum_is_reported(monkeypatch):
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        setting = cursor.fetchone()[0]
    messages = autovacuum_on(None, databases=["default"])
    if setting == "on":
        assert messages == []
    else:
        assert [m.id for m in messages] == ["community_scoring.W001"]
        assert "autovacuum is off on database 'default'" in messages[0].msg


@pytest.mark.django_db
def test_the_check_follows_what_the_server_says(monkeypatch):
    real_cursor = connection.cursor

    class Says:
        def __init__(self, value):
            self.value = value

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            assert sql == "SHOW autovacuum"

        def fetchone(self):
            return (self.value,)

    monkeypatch.setattr(connection, "cursor", lambda: Says("off"))
    assert [m.id for m in autovacuum_on(None, databases=["default"])] == ["community_scoring.W001"]
    monkeypatch.setattr(connection, "cursor", lambda: Says("on"))
    assert autovacuum_on(None, databases=["default"]) == []
    monkeypatch.setattr(connection, "cursor", real_cursor)
    assert autovacuum_on(None, databases=None) == []  # database checks run only when asked for
