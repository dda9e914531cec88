"""System checks of the database the engine runs on (``manage.py check --database default``; ``migrate`` runs
them too)."""
from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database)
def autovacuum_on(app_configs, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """PostgreSQL without autovacuum never refreshes planner statistics: the action log, buckets and scores grow
    by thousands of rows a second under ingest, and statements planned blind scan whole tables."""
    messages = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            if cursor.fetchone()[0] != "on":
                messages.append(checks.Warning(
                    f"autovacuum is off on database '{alias}': planner statistics go stale as the action log grows",
                    hint="Turn autovacuum on (the PostgreSQL default), or ANALYZE regularly (e.g. a cron job).",
                    id="community_scoring.W001"))
    return messages
