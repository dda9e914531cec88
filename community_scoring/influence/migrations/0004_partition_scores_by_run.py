"""PostgreSQL: make influence_influencescore a table partitioned by run (LIST (run_id)).

Each recompute then writes its rows into a fresh table with no indexes (COPY), builds the two indexes in bulk
and attaches the table as the run's partition in the swap transaction; pruning an old run drops its partition.
Bulk index builds are several times faster than inserting 1M rows into indexes that already hold earlier
runs. A DEFAULT partition takes rows written one by one through the ORM. Other databases keep a plain table.
"""
from django.db import migrations

TABLE = "influence_influencescore"

FORWARD = [
    f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned",
    "CREATE SEQUENCE influence_score_id_seq",
    f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING CONSTRAINTS) PARTITION BY LIST (run_id)",
    f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('influence_score_id_seq')",
    f"ALTER SEQUENCE influence_score_id_seq OWNED BY {TABLE}.id",
    f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT",
    f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_unpartitioned",
    f"SELECT setval('influence_score_id_seq', COALESCE((SELECT MAX(id) FROM {TABLE}), 0) + 1, false)",
    f"DROP TABLE {TABLE}_unpartitioned",
    f"ALTER TABLE {TABLE} ADD CONSTRAINT influence_score_unique_run_member UNIQUE (run_id, member_id)",
    f"CREATE INDEX influence_score_run_influence ON {TABLE} (run_id, influence DESC)",
]


def _is_partitioned(schema_editor) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                       "WHERE c.relname = %s", [TABLE])
        return cursor.fetchone() is not None


def forward(apps, schema_editor):
    # Idempotent (the test suite re-runs RunPython operations after flushing).
    if schema_editor.connection.vendor != "postgresql" or _is_partitioned(schema_editor):
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql" or not _is_partitioned(schema_editor):
        return
    for statement in [
        f"CREATE TABLE {TABLE}_plain (LIKE {TABLE} INCLUDING CONSTRAINTS INCLUDING DEFAULTS)",
        f"INSERT INTO {TABLE}_plain SELECT * FROM {TABLE}",
        f"DROP TABLE {TABLE} CASCADE",
        f"ALTER TABLE {TABLE}_plain RENAME TO {TABLE}",
        f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id)",
        f"ALTER TABLE {TABLE} ADD CONSTRAINT influence_score_unique_run_member UNIQUE (run_id, member_id)",
        f"CREATE INDEX influence_score_run_influence ON {TABLE} (run_id, influence DESC)",
    ]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [("influence", "0003_score_indexes")]

    operations = [migrations.RunPython(forward, backward)]
