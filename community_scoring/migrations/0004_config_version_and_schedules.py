"""Record the shipped configuration as version 1 and schedule the interest engine's periodic tasks.

Periodic tasks (django_celery_beat rows, created idempotently; admins can change or disable them):
- "interest: daily snapshot" -> community_scoring.interest_snapshot at 00:15 UTC
- "interest: inactivity penalties" -> community_scoring.interest_inactivity at 02:00 UTC
"""
from django.db import migrations

SCHEDULES = [
    ("interest: daily snapshot", "community_scoring.interest_snapshot", "15", "0"),
    ("interest: inactivity penalties", "community_scoring.interest_inactivity", "0", "2"),
]


def forwards(apps, schema_editor):
    from community_scoring.selectors.config import snapshot_from_models

    ConfigVersion = apps.get_model("community_scoring", "ConfigVersion")
    if not ConfigVersion.objects.exists():
        snapshot = snapshot_from_models(apps.get_model("community_scoring", "RuleSet"),
                                        apps.get_model("community_scoring", "Stage"))
        ConfigVersion.objects.create(number=1, note="shipped default configuration", snapshot=snapshot)

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def backwards(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("community_scoring", "0003_interest_engine_fields"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
