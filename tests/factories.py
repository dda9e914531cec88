"""Shared factory_boy factories. Each module's factories live here so every test builds data the same way."""
from datetime import timezone as dt_timezone

import factory
from django.utils import timezone

from community_scoring.models import Content, Member


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    source = "test"
    external_id = factory.Sequence(lambda n: f"u-{n}")
    email = factory.LazyAttribute(lambda m: f"{m.external_id}@example.com")
    display_name = factory.Sequence(lambda n: f"Member {n}")
    joined_at = factory.LazyFunction(timezone.now)


class ContentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Content

    source = "test"
    external_id = factory.Sequence(lambda n: f"post-{n}")
    author = factory.SubFactory(MemberFactory)
    topic = "general"
    kind = "question"


UTC = dt_timezone.utc


class ActionFactory(factory.django.DjangoModelFactory):
    """An action written straight to the log (no interest side effects): for tests of readers of the log."""

    class Meta:
        model = "community_scoring.Action"

    member = factory.SubFactory(MemberFactory)
    action_type_id = "follow"
    occurred_at = factory.LazyFunction(timezone.now)
    source = "test"
    external_event_id = factory.Sequence(lambda n: f"evt-{n}")
