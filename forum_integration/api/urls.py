app_name = "forum_integration_api"
urlpatterns: list = []
