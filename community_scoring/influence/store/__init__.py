"""The influence store: every database access of the influence engine that is not a plain ORM query.

One interface (store/base.py) with a backend per kind of database: PostgreSQL (binary COPY, partitions,
advisory lock) and plain Django for the rest (SQLite in development). This is the only place that asks which
database it runs on.
"""
from __future__ import annotations

from django.db import connection

from community_scoring.influence.store.base import InfluenceStore
from community_scoring.influence.store.orm import OrmInfluenceStore
from community_scoring.influence.store.postgresql import PostgresInfluenceStore

__all__ = ["InfluenceStore", "OrmInfluenceStore", "PostgresInfluenceStore", "influence_store"]


def influence_store() -> InfluenceStore:
    """The backend for the default database."""
    return PostgresInfluenceStore() if connection.vendor == "postgresql" else OrmInfluenceStore()
