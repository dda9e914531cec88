"""Built-in action types and a sensible default configuration (admins edit it afterwards)."""
from django.db import migrations

ACTION_TYPES = [
    # key, label, reverses
    ("vote_up", "Vote up", None),
    ("vote_down", "Vote down", None),
    ("unvote", "Retract a vote", "vote_up"),
    ("question", "Ask a question", None),
    ("answer", "Answer", None),
    ("solved", "Answer accepted as solution", None),
    ("blog_post", "Blog post", None),
    ("comment", "Comment", None),
    ("follow", "Follow a member", None),
    ("unfollow", "Unfollow a member", "follow"),
    ("poll_response", "Poll response", None),
    ("read", "Read / view", None),
    ("share", "Share", None),
    ("login", "Log in", None),
    ("signup", "Sign up", None),
    ("unsubscribe", "Unsubscribe", None),
    ("inactivity", "Inactivity penalty (system)", None),
]

# key: (points, target_points, daily_cap, once_only)
DEFAULT_RULES = {
    "vote_up": (1, 2, 10, False),
    "vote_down": (0, -2, 10, False),
    "unvote": (-1, -2, None, False),
    "question": (5, 0, 25, False),
    "answer": (8, 0, 40, False),
    "solved": (2, 15, None, False),
    "blog_post": (10, 0, 30, False),
    "comment": (3, 0, 15, False),
    "follow": (2, 1, 10, False),
    "unfollow": (-2, -1, None, False),
    "poll_response": (3, 0, 9, False),
    "read": (0.5, 0, 5, False),
    "share": (4, 2, 20, False),
    "login": (1, 0, 1, False),
    "signup": (5, 0, None, True),
    "unsubscribe": (-20, 0, None, False),
    "inactivity": (-10, 0, None, False),
}

STAGES = [("visitor", 0, 0, 0), ("engaged", 1, 20, 0), ("MQL", 2, 50, 20), ("advocate-candidate", 3, 150, 20)]

FIT_RULES = [
    ("job_title", "contains", "engineer", 10),
    ("job_title", "contains", "manager", 5),
    ("company_size", "gte", "200", 15),
    ("industry", "in", "software,saas,fintech", 5),
]


def forwards(apps, schema_editor):
    ActionType = apps.get_model("community_scoring", "ActionType")
    RuleSet = apps.get_model("community_scoring", "RuleSet")
    Rule = apps.get_model("community_scoring", "Rule")
    FitRule = apps.get_model("community_scoring", "FitRule")
    Stage = apps.get_model("community_scoring", "Stage")
    for key, label, _ in ACTION_TYPES:
        ActionType.objects.update_or_create(key=key, defaults={"label": label, "is_builtin": True})
    for key, _, reverses in ACTION_TYPES:
        if reverses:
            ActionType.objects.filter(key=key).update(reverses_id=reverses)
    default, _ = RuleSet.objects.get_or_create(
        persona="", defaults={"name": "Default", "half_life_days": 90, "inactivity_days": 60}
    )
    for key, (points, target_points, cap, once) in DEFAULT_RULES.items():
        Rule.objects.get_or_create(
            rule_set=default, action_type_id=key,
            defaults={"points": points, "target_points": target_points, "daily_cap": cap, "once_only": once},
        )
    for attribute, operator, value, points in FIT_RULES:
        FitRule.objects.get_or_create(rule_set=default, attribute=attribute, operator=operator, value=value,
                                      defaults={"points": points})
    for name, position, min_engagement, min_fit in STAGES:
        Stage.objects.get_or_create(name=name, defaults={
            "position": position, "min_engagement": min_engagement, "min_fit": min_fit})


class Migration(migrations.Migration):
    dependencies = [("community_scoring", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
