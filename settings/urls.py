from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from community_scoring.api.views.docs import ApiDocsView

urlpatterns = [
    # Lazy: with the manifest storage (settings.prod) the URL exists only after collectstatic, which `migrate` precedes.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("community_scoring/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/", include("forum_integration.api.urls")),
    path("api/v1/", include("community_scoring.api.urls")),
    path("integrations/", include("forum_integration.urls")),
    path("", include("community_scoring.urls")),
]
