"""While PostgreSQL, Redis (cache) or the broker is down, requests get 503 with Retry-After, never a 500
(api.unavailable; the real outages are tests/production/test_faults.py)."""
import pytest
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing(monkeypatch):
    def make(target: str, exc: BaseException):
        def boom(*args, **kwargs):
            raise exc

        monkeypatch.setattr(target, boom)

    return make


@pytest.mark.parametrize("exc", [OperationalError("server closed the connection unexpectedly"),
                                 RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
                                 BrokerError("[Errno 111] Connection refused")])
def test_an_api_read_during_an_outage_gets_503_with_retry_after(token_client, failing, exc):
    client = token_client("admin")
    failing("community_scoring.auth._generation", exc)  # the shared-cache check every authenticated request makes
    response = client.get("/api/v1/members/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "unavailable" in response.json()["detail"]


def test_a_database_outage_inside_a_view_gets_503(token_client, failing):
    client = token_client("ingest")
    failing("forum_integration.api.views.actions_ingest_shared", OperationalError("the database system is shutting down"))
    response = client.post("/api/v1/events/", {"source": "s", "event_id": "1", "type": "comment",
                                               "occurred_at": "2026-01-01T00:00:00Z",
                                               "member": {"external_id": "m"}}, format="json")
    assert response.status_code == 503 and response["Retry-After"]


def test_a_page_during_an_outage_gets_a_plain_503(client, failing, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    failing("django.contrib.sessions.backends.db.SessionStore.load", OperationalError("connection refused"))
    response = client.get("/")
    assert response.status_code == 503 and response["Content-Type"].startswith("text/plain")


def test_other_errors_are_not_disguised_as_outages(token_client, failing):
    client = token_client("admin")
    client.raise_request_exception = False
    failing("community_scoring.auth._generation", ValueError("a bug"))
    assert client.get("/api/v1/members/").status_code == 500
