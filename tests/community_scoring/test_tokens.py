from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from community_scoring.services.tokens import token_digest
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


@pytest.mark.django_db
def test_authentication_is_cached_briefly_and_revocation_in_process_is_immediate(django_assert_num_queries, settings):
    from rest_framework.exceptions import AuthenticationFailed

    from community_scoring.auth import ApiTokenAuthentication, token_cache_clear
    from community_scoring.services.tokens import token_issue, token_revoke

    settings.API_TOKEN_CACHE_SECONDS = 60
    token_cache_clear()
    _, raw = token_issue(name="cached", role="ingest")
    auth = ApiTokenAuthentication()
    with django_assert_num_queries(2):  # the lookup, and last_used_at (first use)
        principal, _ = auth.authenticate_credentials(raw)
    with django_assert_num_queries(0):
        assert auth.authenticate_credentials(raw)[0] == principal
    token_revoke(name="cached")
    with pytest.raises(AuthenticationFailed):
        auth.authenticate_credentials(raw)
    settings.API_TOKEN_CACHE_SECONDS = 0  # disabled: every request looks the token up
    _, raw = token_issue(name="uncached", role="ingest")
    auth.authenticate_credentials(raw)
    with django_assert_num_queries(1):
        auth.authenticate_credentials(raw)
