"""Schedule the gaming scan daily (03:30 UTC) in django-celery-beat (editable in the admin under Periodic tasks)."""
from django.db import migrations

TASK = "community_scoring.gaming.tasks.gaming_scan_task"
NAME = "gaming: scan for vote rings and bursts"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="3", day_of_week="*", day_of_month="*",
                                                     month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": daily})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gaming", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
