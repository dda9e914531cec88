"""One instant for every read (issue 15, item 7): the leaderboard order key InterestScore.rank_key (the score
valued at the moment it was last keyed) with its (rank_key, member) index in place of (score, member), and two
periodic tasks (django_celery_beat rows, created idempotently; admins can change or disable them):
- "interest: hourly re-valuation" -> community_scoring.interest_revalue at minute 5 of every hour (records stage
  crossings caused by decay alone);
- "interest: leaderboard re-key" -> community_scoring.interest_rank_rekey every 5 minutes.
Existing rows start with rank_key = their stored score; the first re-key values them all at one instant.
"""
from django.db import migrations, models

REVALUE = ("interest: hourly re-valuation", "community_scoring.interest_revalue")
REKEY = ("interest: leaderboard re-key", "community_scoring.interest_rank_rekey")


def schedules_add(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = CrontabSchedule.objects.get_or_create(
        minute="5", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name=REVALUE[0], defaults={"task": REVALUE[1], "crontab": hourly})
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=REKEY[0], defaults={"task": REKEY[1], "interval": every})


def schedules_remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[REVALUE[0], REKEY[0]]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('community_scoring', '0020_gaming_action_exclusion'),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='interestscore',
            name='interest_score_member',
        ),
        migrations.AddField(
            model_name='interestscore',
            name='rank_key',
            field=models.FloatField(db_default=0.0, default=0, help_text='Leaderboard order: the score valued at the moment it was last keyed (written by the scorer, a recompute, or the periodic re-key every few minutes). Orders rows only; never shown.'),
        ),
        migrations.RunSQL("UPDATE community_scoring_interestscore SET rank_key = score", migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='interestscore',
            name='engagement',
            field=models.FloatField(default=0, help_text='Decayed engagement, valued at ref_time (not now).'),
        ),
        migrations.AlterField(
            model_name='interestscore',
            name='score',
            field=models.FloatField(default=0, help_text='engagement + fit at ref_time (not now).'),
        ),
        migrations.AlterField(
            model_name='interestscore',
            name='stage',
            field=models.CharField(blank=True, help_text='The stage last recorded (see StageTransition).', max_length=64),
        ),
        migrations.AddIndex(
            model_name='interestscore',
            index=models.Index(fields=['rank_key', 'member'], name='interest_rank_member'),
        ),
        migrations.RunPython(schedules_add, schedules_remove),
    ]
