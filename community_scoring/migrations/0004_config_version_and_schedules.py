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


def config_snapshot(apps) -> dict:
    """The configuration document as it was shaped when this migration was written (frozen here: a migration
    must not change with the live code). Same document as services.config.snapshot_from_models then gave."""
    rule_sets = []
    for rs in apps.get_model("community_scoring", "RuleSet").objects.order_by("persona", "name").prefetch_related(
        "rules", "fit_rules"
    ):
        rule_sets.append({
            "name": rs.name,
            "persona": rs.persona,
            "half_life_days": rs.half_life_days,
            "inactivity_days": rs.inactivity_days,
            "rules": [
                {"action_type": r.action_type_id, "points": r.points, "target_points": r.target_points,
                 "daily_cap": r.daily_cap, "once_only": r.once_only}
                for r in sorted(rs.rules.all(), key=lambda r: r.action_type_id)
            ],
            "fit_rules": [
                {"attribute": f.attribute, "operator": f.operator, "value": f.value, "points": f.points}
                for f in sorted(rs.fit_rules.all(), key=lambda f: f.pk)
            ],
        })
    stages = [
        {"name": s.name, "position": s.position, "min_engagement": s.min_engagement, "min_fit": s.min_fit}
        for s in apps.get_model("community_scoring", "Stage").objects.order_by("position")
    ]
    return {"rule_sets": rule_sets, "stages": stages}


def forwards(apps, schema_editor):
    ConfigVersion = apps.get_model("community_scoring", "ConfigVersion")
    if not ConfigVersion.objects.exists():
        ConfigVersion.objects.create(number=1, note="shipped default configuration", snapshot=config_snapshot(apps))

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
