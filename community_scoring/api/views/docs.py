"""/api/docs/: Swagger UI over /api/schema/, served from the project's own static files (drf-spectacular-sidecar).

A page for people: an anonymous browser is sent to sign in and comes back, instead of a bare 401. A caller that
sent credentials which failed still gets the API's 401; a signed-in user needs a role (403 otherwise). "Try it
out" sends the session cookie, and drf-spectacular's page adds the CSRF header to writes.
"""
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.exceptions import NotAuthenticated

from community_scoring.auth import HasRole


class ApiDocsView(SpectacularSwaggerView):
    permission_classes = [HasRole]

    def handle_exception(self, exc):
        if isinstance(exc, NotAuthenticated) and "HTTP_AUTHORIZATION" not in self.request.META:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
