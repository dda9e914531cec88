import hashlib
import secrets

from community_scoring.models import ApiToken


def token_digest(raw: str) -> str:
    """What is stored of a token: its SHA-256 (the raw token is shown once and never kept)."""
    return hashlib.sha256(raw.encode()).hexdigest()


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
    """Deactivate the named tokens. Each is saved, so post_save tells this process's authentication cache to
    forget it at once; other processes forget it within API_TOKEN_CACHE_SECONDS (see community_scoring.auth)."""
    tokens = list(ApiToken.objects.filter(name=name))
    for token in tokens:
        token.is_active = False
        token.save(update_fields=["is_active"])
    return len(tokens)
