"""The influence boards read off their indexes: (run, influence DESC, member DESC), the boards' whole order (the
index it replaces had no member id, so a page sorted every tie group it touched, 400 rows for 51 on the bench), and
the same order over the advocates alone and the detractors alone (partial indexes: a page no longer filters the
run's order, 2,000 rows for a page of detractors on the bench).

On PostgreSQL the table is partitioned by run (0004): an index made on it is made on every partition, and the store
builds the same ones on a run's new partition before attaching it (influence.store.postgresql._partition_indexes).
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("influence", "0009_partition_edges_by_run")]

    operations = [
        migrations.RemoveIndex(model_name="influencescore", name="influence_score_run_influence"),
        migrations.AddIndex(
            model_name="influencescore",
            index=models.Index(fields=["run", "-influence", "-member"], name="influence_score_run_influence"),
        ),
        migrations.AddIndex(
            model_name="influencescore",
            index=models.Index(condition=models.Q(("is_advocate", True)), fields=["run", "-influence", "-member"],
                               name="influence_score_run_advocates"),
        ),
        migrations.AddIndex(
            model_name="influencescore",
            index=models.Index(condition=models.Q(("is_detractor", True)), fields=["run", "-influence", "-member"],
                               name="influence_score_run_detractors"),
        ),
    ]
