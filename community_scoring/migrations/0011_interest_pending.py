"""The queue between storing a batch's actions and scoring them (services.interest_queue), and the periodic task
that scores what a crash left in it: "interest: score pending actions" -> community_scoring.interest_pending_score,
every minute (a django_celery_beat row, created idempotently; admins can change or disable it)."""
from django.db import migrations, models

TASK_NAME = "interest: score pending actions"


def forwards(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "community_scoring.interest_pending_score", "interval": every})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('community_scoring', '0010_member_plain_indexes'),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name='InterestPending',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('action_ids', models.JSONField(default=list, help_text="Ids of the batch's new actions.")),
                ('refit', models.JSONField(default=list, help_text='Members whose attributes the batch changed: fit re-evaluated.')),
                ('partition', models.PositiveSmallIntegerField(default=0, help_text='Scores only members with id % scorers == this.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
