import os

import pytest
from rest_framework.test import APIClient

from community_scoring.services.tokens import token_issue


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client(db):
    """token_client(role) -> an APIClient authenticated with a fresh token of that role."""
    counter = {"n": 0}

    def make(role: str, *, can_export_pii: bool = False) -> APIClient:
        counter["n"] += 1
        _, raw = token_issue(name=f"{role}-{counter['n']}", role=role, can_export_pii=can_export_pii)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        return client

    return make


def _rerun_data_migrations() -> None:
    """Re-run every RunPython data migration (built-in action types, default rules, schedules): idempotent."""
    from django.apps import apps as django_apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations.special import RunPython

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    with connection.schema_editor() as schema_editor:
        for key in sorted(loader.graph.nodes):
            migration = loader.graph.nodes[key]
            for operation in migration.operations:
                if isinstance(operation, RunPython):
                    operation.code(django_apps, schema_editor)


@pytest.fixture(autouse=True)
def _seed_for_transactional_tests(request):
    """Transactional tests flush the database afterwards, data migrations included: put that data back first."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (marker is not None and marker.kwargs.get("transaction"))
    if transactional:
        request.getfixturevalue("transactional_db")
        _rerun_data_migrations()
    yield


@pytest.fixture
def keep_test_connection():
    """Calls through the WSGI app (schemathesis in process) end with close_old_connections, as in production;
    the test's transaction must survive them, so (as Django's test client does) keep the connection open."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def pytest_collection_modifyitems(config, items):
    """Tests that need more than the suite's database carry a mark by directory and run only when asked for:
    tests/browser/ (`browser`: Chromium and a live server; `-m browser`, its own step of `make test`) and
    tests/production/ (`production`: whole production stacks with faults injected; `-m production`, `make
    test-production`, its own step of .ci/run)."""
    markexpr = config.getoption("markexpr") or ""
    for directory, mark in (("/tests/browser/", "browser"), ("/tests/production/", "production")):
        marked = [item for item in items if directory in str(item.fspath).replace(os.sep, "/")]
        for item in marked:
            item.add_marker(getattr(pytest.mark, mark))
        if mark not in markexpr:
            config.hook.pytest_deselected(items=marked)
            items[:] = [item for item in items if item not in marked]
