"""The periodic task that links identities whose linking was lost after their batch committed (services.identity
members_link_sweep): "identity: link identities left unlinked" -> community_scoring.members_link_sweep, every 10
minutes (a django_celery_beat row, created idempotently; admins can change or disable it)."""
from django.db import migrations

SWEEP = ("identity: link identities left unlinked", "community_scoring.members_link_sweep")


def schedule_add(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(name=SWEEP[0], defaults={"task": SWEEP[1], "interval": every})


def schedule_remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP[0]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("community_scoring", "0024_pending_rescore"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_add, schedule_remove)]
