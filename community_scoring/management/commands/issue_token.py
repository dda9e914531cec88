from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from community_scoring.models import ApiToken
from community_scoring.services.tokens import token_issue


class Command(BaseCommand):
    help = "Create a named API token for a role and print only the token."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=ApiToken.Role.values)
        parser.add_argument("--pii", action="store_true", help="Community managers: allow emails and export.")

    def handle(self, *args, name: str, role: str, pii: bool, **options):
        try:
            _, raw = token_issue(name=name, role=role, can_export_pii=pii)
        except IntegrityError:
            raise CommandError(f"a token named {name!r} already exists")
        self.stdout.write(raw)
