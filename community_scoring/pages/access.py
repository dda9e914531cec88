"""Who may open a page: the caller's role (community_scoring.auth.request_role) against the roles a view allows.

Anonymous visitors are sent to log in; a signed-in user without one of the roles gets 403, so what a role may not
see is not reachable by URL either.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from community_scoring.auth import request_role

LOGIN_URL = "/accounts/login/"


def role_required(*roles: str):
    """View decorator: anonymous -> redirect to /accounts/login/?next=<path>; a role not in ``roles`` -> 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), LOGIN_URL)
            if request_role(request) not in roles:
                raise PermissionDenied("Your role may not open this page.")
            return view(request, *args, **kwargs)
        return wrapped
    return decorator
