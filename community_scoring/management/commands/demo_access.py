from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from community_scoring.models import ApiToken
from community_scoring.services.tokens import token_issue

DEMO_TOKEN_NAME = "demo-admin"


class Command(BaseCommand):
    help = "Demo only: make sure a local admin login exists and print a fresh admin API token to try the API."

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
        ApiToken.objects.filter(name=DEMO_TOKEN_NAME).delete()
        _, raw = token_issue(name=DEMO_TOKEN_NAME, role=ApiToken.Role.ADMIN)
        self.stdout.write(f"Admin API token: {raw}")
        self.stdout.write(f"  try: curl -H 'Authorization: Token {raw}' http://127.0.0.1:8000/api/v1/members/")
