from django.apps import AppConfig


def _member_erased(sender, *, identity_ids: list[int], **kwargs) -> dict[str, int]:
    """A thin adapter: the engine erased a member; erase the forum's rows of them too."""
    from forum_integration.services.forum import forum_member_erase

    return forum_member_erase(identity_ids=identity_ids)


class ForumIntegrationConfig(AppConfig):
    name = "forum_integration"
    verbose_name = "Forum integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from community_scoring.services.erasure import member_erased

        member_erased.connect(_member_erased, dispatch_uid="forum_member_erased")
