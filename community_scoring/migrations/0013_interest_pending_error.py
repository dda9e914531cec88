"""InterestPending.error and failed_at: an action whose scoring fails is set aside with its error (listed in the
admin, queued again by its "retry" action) instead of failing its whole partition's passes."""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("community_scoring", "0012_interest_pending_partitions"),
    ]

    operations = [
        migrations.AddField(
            model_name="interestpending",
            name="error",
            field=models.TextField(blank=True, default="", help_text="Why scoring failed: set aside until retried."),
        ),
        migrations.AddField(
            model_name="interestpending",
            name="failed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
