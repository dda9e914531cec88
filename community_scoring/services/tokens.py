import secrets

from community_scoring.auth import token_digest
from community_scoring.models import ApiToken


def token_issue(*, name: str, role: str, can_export_pii: bool = False) -> tuple[ApiToken, str]:
    """Create a named API token for a role; returns the record and the raw token (shown once, never stored)."""
    if role not in ApiToken.Role.values:
        raise ValueError(f"role must be one of: {', '.join(ApiToken.Role.values)}")
    raw = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name, role=role, digest=token_digest(raw), prefix=raw[:8], can_export_pii=can_export_pii
    )
    return token, raw


def token_revoke(*, name: str) -> int:
    """Deactivate the named tokens; this process forgets them at once, other processes within
    API_TOKEN_CACHE_SECONDS (see community_scoring.auth)."""
    from community_scoring.auth import token_cache_clear

    revoked = ApiToken.objects.filter(name=name).update(is_active=False)
    token_cache_clear()
    return revoked
