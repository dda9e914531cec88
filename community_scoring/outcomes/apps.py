from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "community_scoring.outcomes"
    label = "outcomes"
    verbose_name = "Outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Outcomes follow the person through merges and unmerges, and lose their reasons on a privacy erasure (the
        # engine's services tell, by signals; they never import us).
        from community_scoring.outcomes.services.merges import outcomes_erase, outcomes_merge, outcomes_unmerge
        from community_scoring.services.erasure import member_erased
        from community_scoring.services.identity import member_unmerged, members_merged

        def on_merge(sender, *, into, merged, **_):
            outcomes_merge(into=into, merged=merged)

        def on_unmerge(sender, *, identity, member, **_):
            outcomes_unmerge(identity=identity, member=member)

        def on_erase(sender, *, identity_ids, **_):
            return outcomes_erase(identity_ids=identity_ids)

        members_merged.connect(on_merge, weak=False, dispatch_uid="outcomes_merge")
        member_erased.connect(on_erase, weak=False, dispatch_uid="outcomes_erase")
        member_unmerged.connect(on_unmerge, weak=False, dispatch_uid="outcomes_unmerge")
