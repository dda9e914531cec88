"""Each run keeps its members' heaviest inbound edges (InfluenceEdge); runs before this have none
(inbound_edges_kept = 0). PostgreSQL partitions the table by run in 0009."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('community_scoring', '0023_job_worker'),
        ('influence', '0007_job_worker'),
    ]

    operations = [
        migrations.AddField(
            model_name='influencerun',
            name='inbound_edges_kept',
            field=models.PositiveSmallIntegerField(db_default=0, default=0, help_text="Heaviest inbound edges it stored per member (InfluenceEdge). 0: none (runs made before edges were stored); their members' edges are aggregated from the action log when read."),
        ),
        migrations.CreateModel(
            name='InfluenceEdge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('actions', models.PositiveIntegerField(help_text='Actions of the type (reversing ones not counted).')),
                ('weight', models.FloatField(help_text="The weight the family adds to the source's edge (formula.edge_weights).")),
                ('action_type', models.ForeignKey(db_constraint=False, db_index=False, help_text='The type family: a type with the types reversing it netted in (follow, unfollow).', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='community_scoring.actiontype')),
                ('member', models.ForeignKey(db_constraint=False, db_index=False, help_text='The member the edge points to.', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='community_scoring.member')),
                ('run', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='inbound_edges', to='influence.influencerun')),
                ('source', models.ForeignKey(db_constraint=False, db_index=False, help_text='The member who acted.', on_delete=django.db.models.deletion.CASCADE, related_name='+', to='community_scoring.member')),
            ],
            options={
                'indexes': [models.Index(fields=['run', 'member'], name='influence_edge_run_member')],
            },
        ),
    ]
