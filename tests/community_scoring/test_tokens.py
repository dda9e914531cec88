from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from community_scoring.auth import token_digest
from community_scoring.models import ApiToken


@pytest.mark.django_db
def test_issue_token_prints_only_the_token_and_stores_its_digest():
    out = StringIO()
    call_command("issue_token", "crm-sync", role="ingest", stdout=out)
    raw = out.getvalue().strip()
    assert "\n" not in raw and len(raw) >= 32
    token = ApiToken.objects.get(name="crm-sync")
    assert token.role == "ingest"
    assert token.digest == token_digest(raw)
    assert raw not in (token.digest, token.prefix)


@pytest.mark.django_db
def test_issue_token_rejects_duplicate_names_and_unknown_roles():
    call_command("issue_token", "dup", role="marketing", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("issue_token", "dup", role="marketing", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("issue_token", "other", role="superhero", stdout=StringIO())
