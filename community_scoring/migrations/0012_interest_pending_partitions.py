"""InterestPending.partitions: the scorer count a row was queued under, so a change of INTEREST_SCORERS with rows
pending still scores each action once. Rows already pending were queued under the setting in force."""
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    apps.get_model("community_scoring", "InterestPending").objects.update(
        partitions=max(1, settings.INTEREST_SCORERS))


class Migration(migrations.Migration):

    dependencies = [
        ("community_scoring", "0011_interest_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="interestpending",
            name="partitions",
            field=models.PositiveSmallIntegerField(default=1, help_text="The scorer count (INTEREST_SCORERS) when queued."),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
