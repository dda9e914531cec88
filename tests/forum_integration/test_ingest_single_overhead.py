"""A single-event POST pays for the event, not for the plumbing around it: the reserved sources are cached per
process (and a Discourse instance saved or deleted takes effect at once), the per-token throttle is a sliding
log in process memory with DRF's semantics, and gunicorn's production settings are the gthread worker."""
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from community_scoring.models import Action
from forum_integration.api import views
from tests.forum_integration.helpers import T_ISO

URL = "/api/v1/events/"
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def event(event_id, source="acme-forum"):
    return {"source": source, "event_id": event_id, "type": "comment", "occurred_at": T_ISO,
            "member": {"external_id": "u-42"}}


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


@pytest.fixture
def ingest(token_client):
    return token_client("ingest")


@pytest.fixture
def reserved_cache(settings):
    settings.INGEST_RESERVED_SOURCES_CACHE_SECONDS = 60
    views.reserved_sources_cache_clear()
    yield
    views.reserved_sources_cache_clear()


def discourse_queries(queries) -> int:
    return sum("forum_integration_discourseinstance" in q["sql"] for q in queries)


def test_reserved_sources_are_read_once_per_process(ingest, reserved_cache):
    assert post(ingest, event("e-1")).status_code == 201
    with CaptureQueriesContext(connection) as second:
        assert post(ingest, event("e-2")).status_code == 201
    assert discourse_queries(second.captured_queries) == 0
    assert Action.objects.filter(source="acme-forum").count() == 2


def test_a_new_discourse_instance_is_reserved_at_once_and_freed_on_delete(ingest, reserved_cache):
    from forum_integration.models import DiscourseInstance

    assert post(ingest, event("e-1", source="discourse-acme")).status_code == 201  # fills the cache
    instance = DiscourseInstance.objects.create(base_url="https://d.example.com", source="discourse-acme", secret="s")
    response = post(ingest, event("e-2", source="discourse-acme"))
    assert response.status_code == 400
    assert "reserved" in response.json()["results"][0]["errors"]["source"][0]
    instance.delete()
    assert post(ingest, event("e-3", source="discourse-acme")).status_code == 201


def test_built_in_sources_stay_reserved_with_the_cache_on(ingest, reserved_cache):
    for source in ("forum", "discourse"):
        response = post(ingest, event(f"{source}-1", source=source))
        assert response.status_code == 400, source
        assert response.json()["results"][0]["status"] == "rejected"
    assert not Action.objects.exists()


@pytest.fixture
def ingest_rate(settings):
    settings.API_INGEST_THROTTLE_RATE = "3/min"


def test_throttle_is_a_sliding_window_per_token(token_client, ingest_rate, monkeypatch):
    from community_scoring.auth import ApiTokenRateThrottle

    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(ApiTokenRateThrottle, "timer", lambda self: clock["now"])
    first, second = token_client("ingest"), token_client("ingest")
    codes = []
    for k in range(4):
        codes.append(post(first, event(f"a-{k}")).status_code)
        clock["now"] += 10
    assert codes == [201, 201, 201, 429]
    assert post(second, event("b-1")).status_code == 201  # its own budget

    # The window slides: 60 s after the first request (at t=0) one request is allowed again, not three.
    clock["now"] = 1_000_000.0 + 60
    response = post(first, event("a-4"))
    assert response.status_code == 201
    response = post(first, event("a-5"))
    assert response.status_code == 429
    # DRF's wait: until the oldest kept request (t=10) leaves the window, spread over the one free slot.
    assert response["Retry-After"] == "10"
    assert Action.objects.filter(external_event_id__startswith="a-").count() == 4


def test_with_the_per_process_cache_the_history_is_kept_in_process(token_client, ingest_rate):
    # LocMemCache (the default) would pickle the whole history on every request: the throttle keeps it itself.
    from community_scoring import auth

    auth.throttle_histories_clear()
    client = token_client("ingest")
    assert post(client, event("h-1")).status_code == 201
    assert len(auth._histories) == 1 and len(next(iter(auth._histories.values()))) == 1


def test_a_throttled_request_records_nothing(token_client, ingest_rate):
    client = token_client("ingest")
    assert [post(client, event(f"t-{k}")).status_code for k in range(4)] == [201, 201, 201, 429]
    assert not Action.objects.filter(external_event_id="t-3").exists()


def gunicorn_settings(monkeypatch, **env) -> dict:
    """gunicorn.conf.py's settings as gunicorn reads them, with this environment."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace: dict = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace)
    return namespace


def test_gunicorn_production_settings_are_two_gthread_workers(monkeypatch):
    from gunicorn.config import Config

    namespace = gunicorn_settings(monkeypatch)
    config = Config()
    for name in ("wsgi_app", "bind", "workers", "worker_class", "threads", "keepalive", "backlog"):
        config.set(name, namespace[name])  # validated by gunicorn as it would read the file
    assert config.wsgi_app == "settings.wsgi:application"
    assert config.workers == 2
    assert config.worker_class_str == "gthread"
    assert config.threads >= 16  # in-flight small requests share batches (services.coalesce)
    assert config.keepalive > 60  # outlives a load balancer's idle connections (a closed one loses the request)



def test_the_ingest_pool_is_the_same_app_on_its_own_address(monkeypatch):
    web = gunicorn_settings(monkeypatch, GUNICORN_BIND="127.0.0.1:9000", GUNICORN_INGEST_BIND="127.0.0.1:9001")
    ingest = gunicorn_settings(monkeypatch, GUNICORN_POOL="ingest", INGEST_CONCURRENCY="3")
    assert web["bind"] == "127.0.0.1:9000" and ingest["bind"] == "127.0.0.1:9001"
    assert ingest["workers"] == 3 and ingest["wsgi_app"] == web["wsgi_app"]
    assert ingest["proc_name"] != web["proc_name"]  # told apart in ps
    with pytest.raises(ValueError, match="GUNICORN_POOL"):
        gunicorn_settings(monkeypatch, GUNICORN_POOL="reads")


def test_every_stack_starts_an_ingest_pool_beside_the_web_pool():
    from deploy.stack import procfile

    processes = procfile()
    assert processes["web"][-1] == processes["ingest"][-1] == ".venv/bin/gunicorn"
    assert "GUNICORN_POOL=ingest" in processes["ingest"]
