"""PostgreSQL: influence_influenceedge is partitioned by run (LIST (run_id)) like influence_influencescore (see 0004):
a run's edges are copied into a fresh table, indexed in bulk and attached with its scores; pruning drops it. A
DEFAULT partition takes rows written through the ORM. Other databases keep a plain table.
"""
from django.db import migrations

TABLE = "influence_influenceedge"

FORWARD = [
    f"ALTER TABLE {TABLE} RENAME TO {TABLE}_unpartitioned",
    "CREATE SEQUENCE influence_edge_id_seq",
    f"CREATE TABLE {TABLE} (LIKE {TABLE}_unpartitioned INCLUDING CONSTRAINTS) PARTITION BY LIST (run_id)",
    f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('influence_edge_id_seq')",
    f"ALTER SEQUENCE influence_edge_id_seq OWNED BY {TABLE}.id",
    f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT",
    f"DROP TABLE {TABLE}_unpartitioned",  # created empty by 0008: no rows to carry over
    f"CREATE INDEX influence_edge_run_member ON {TABLE} (run_id, member_id)",
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


class Migration(migrations.Migration):
    atomic = True

    dependencies = [("influence", "0008_inbound_edges")]

    # Backwards, the table is dropped whole (partitions included) when 0008's CreateModel is reversed.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
