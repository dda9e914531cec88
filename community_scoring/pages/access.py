"""Who may open which page: the one rule every page view goes through.

A page names the roles that may open it with ``@role_required(...)``. Anonymous visitors are sent to the login
page (settings.LOGIN_URL, with ?next=); signed-in users whose role (auth.request_role: superuser -> admin, else
their group) is not named get 403. Templates get the same answers from ``page_access`` so that links a role may
not follow are not shown.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from community_scoring.auth import request_can_see_pii, request_role
from community_scoring.models import ApiToken

ADMIN = ApiToken.Role.ADMIN.value
COMMUNITY_MANAGER = ApiToken.Role.COMMUNITY_MANAGER.value
MARKETING = ApiToken.Role.MARKETING.value

# The roles that may read the community pages (dashboard, leaderboards, member pages).
READER_ROLES = (ADMIN, COMMUNITY_MANAGER, MARKETING)


def role_required(*roles: str):
    """Decorate a view: anonymous -> login redirect; a role not in ``roles`` -> 403 (PermissionDenied)."""
    allowed = frozenset(roles)

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request_role(request) not in allowed:
                raise PermissionDenied("Your role may not open this page.")
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = allowed
        return wrapped

    return decorator


def page_access(request) -> dict[str, object]:
    """What the signed-in person may open, for templates (context processor): role, pages, export and PII."""
    role = request_role(request)
    can_read = role in READER_ROLES
    return {
        "role": role,
        "can_read_pages": can_read,
        "can_see_pii": can_read and request_can_see_pii(request),
        "can_export": can_read and request_can_see_pii(request),
        "can_edit_settings": role == ADMIN,
    }


def access_context(request) -> dict[str, object]:
    """Context processor: ``access`` = page_access(request) (computed once per request, lazily)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"access": {"role": None, "can_read_pages": False, "can_see_pii": False, "can_export": False,
                           "can_edit_settings": False}}
    cached = getattr(request, "_page_access", None)
    if cached is None:
        cached = request._page_access = page_access(request)
    return {"access": cached}
