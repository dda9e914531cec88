app_name = "forum_integration"
urlpatterns: list = []
