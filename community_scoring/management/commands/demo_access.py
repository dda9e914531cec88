from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from community_scoring.models import ApiToken
from community_scoring.services.tokens import token_issue

DEMO_TOKEN_NAME = "demo-admin"
# Demo people of the other roles: (username, password, role group, may see PII).
DEMO_PEOPLE = (
    ("manager", "manager-demo", ApiToken.Role.COMMUNITY_MANAGER, True),
    ("marketing", "marketing-demo", ApiToken.Role.MARKETING, False),
)
PII_GROUP = "pii"  # auth.request_can_see_pii: a community manager in this group may see emails and export


class Command(BaseCommand):
    help = ("Demo only: make sure a local admin login exists, demo logins for a community manager (with PII access) "
            "and marketing, and print a fresh admin API token to try the API. Safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="admin")

    def handle(self, *args, username: str, password: str, **options):
        User = get_user_model()
        if not User.objects.filter(is_superuser=True).exists():
            User.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(f"Admin login: {username} / {password}  (demo only: change it)")
        else:
            self.stdout.write("Admin login: the existing superuser")
        for name, demo_password, role, pii in DEMO_PEOPLE:
            user, created = User.objects.get_or_create(username=name)
            if created:
                user.set_password(demo_password)
                user.save()
            user.groups.add(Group.objects.get_or_create(name=role)[0])
            if pii:
                user.groups.add(Group.objects.get_or_create(name=PII_GROUP)[0])
            shown = demo_password if created else "(unchanged: the password it already had)"
            self.stdout.write(f"{role.label.capitalize()} login: {name} / {shown}{'  (may see PII)' if pii else ''}")
        ApiToken.objects.filter(name=DEMO_TOKEN_NAME).delete()
        _, raw = token_issue(name=DEMO_TOKEN_NAME, role=ApiToken.Role.ADMIN)
        self.stdout.write(f"Admin API token: {raw}")
        self.stdout.write(f"  try: curl -H 'Authorization: Token {raw}' http://127.0.0.1:8000/api/v1/members/")
