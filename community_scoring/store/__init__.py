"""Where the interest engine's rows live: one interface (store.base.InterestStore), two backends.

``interest_store()`` is the one place that asks which database is in use: PostgreSQL gets the set-based backend
(store.postgres, all of the interest SQL), any other database the plain Python one (store.python, the ORM and
the pure rules of community_scoring.scoring). Services call the store; nothing else branches on the database.
"""
from __future__ import annotations

from django.db import connection

from community_scoring.store.base import InterestStore
from community_scoring.store.postgres import PostgresInterestStore
from community_scoring.store.python import PythonInterestStore

BACKENDS: dict[str, InterestStore] = {"postgresql": PostgresInterestStore(), "python": PythonInterestStore()}


def interest_store() -> InterestStore:
    """The backend for the database in use."""
    return BACKENDS.get(connection.vendor) or BACKENDS["python"]
