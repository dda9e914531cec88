"""The periodic sweep of background jobs left pending (community_scoring.jobs): "jobs: publish pending jobs again"
-> community_scoring.jobs_pending_publish every 5 minutes (a django_celery_beat row, created idempotently; admins
can change or disable it)."""
from django.db import migrations

TASK_NAME = "jobs: publish pending jobs again"


def forwards(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "community_scoring.jobs_pending_publish", "interval": every})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("community_scoring", "0025_members_link_sweep"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
