"""A small planted community for the page tests (and the browser tests): two hubs followed by twelve fans, one
writing warmly (an advocate), one harshly (a detractor), a staff member, a merged identity; interest recomputed
from the log, two days of snapshots, one influence run and the daily aggregates."""
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache

from community_scoring.influence.recompute import influence_recompute
from community_scoring.models import Member
from community_scoring.services.community_days import community_days_refresh
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.snapshots import interest_snapshot_take
from tests.factories import ActionFactory, MemberFactory

REF = datetime.combine(datetime.now(dt_timezone.utc).date() - timedelta(days=1), time(12), tzinfo=dt_timezone.utc)
LOGGED = REF - timedelta(days=4)
POSITIVE = "Great answer, thanks a lot, this is really helpful!"
NEGATIVE = "This is awful and broken, terrible docs, I hate it."
PASSWORD = "a-long-test-password"


def act(member, kind, target=None, *, seconds=0, text=""):
    return ActionFactory(member=member, action_type_id=kind, target_member=target, text=text,
                         occurred_at=LOGGED + timedelta(seconds=seconds))


def plant_community() -> dict:
    cache.clear()  # cached rankings and persona lists of earlier tests' members
    paula = MemberFactory(display_name="Paula Positive", persona="developer", external_id="ext-paula",
                          email="paula@example.com")
    nick = MemberFactory(display_name="Nick Negative", persona="marketer", external_id="ext-nick",
                         email="nick@example.com")
    sam = MemberFactory(display_name="Sam Staff", persona="developer", is_excluded=True)
    fans = [MemberFactory(display_name=f"Fan {i:02d}", persona="developer" if i % 2 else "marketer")
            for i in range(12)]
    for fan in fans:
        for hub in (paula, nick, sam):
            act(fan, "follow", hub)
            act(fan, "read", hub)
    for i in range(4):
        act(paula, "blog_post", seconds=i, text=POSITIVE)
        act(sam, "blog_post", seconds=i, text=POSITIVE)
        act(nick, "blog_post", seconds=i, text=NEGATIVE)
    act(paula, "follow", nick, seconds=10)
    alias = MemberFactory(display_name="Paula at work", source="crm", external_id="crm-paula")
    Member.objects.filter(pk=alias.pk).update(merged_into=paula)
    interest_recompute(now=REF)
    interest_snapshot_take(now=REF - timedelta(days=1))
    interest_snapshot_take(now=REF)
    influence_recompute(ref_time=REF)
    community_days_refresh()
    return {"paula": paula, "nick": nick, "sam": sam, "fans": fans, "alias": alias}


@pytest.fixture
def community(db):
    return plant_community()


@pytest.fixture
def user_of(db):
    """user_of("marketing", pii=False) -> a user of that role ("admin": a superuser; None: no group)."""
    counter = {"n": 0}

    def make(role: str | None, *, pii: bool = False):
        counter["n"] += 1
        name = f"{role or 'nobody'}-{counter['n']}"
        User = get_user_model()
        if role == "admin":
            return User.objects.create_superuser(username=name, password=PASSWORD)
        user = User.objects.create_user(username=name, password=PASSWORD)
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        if pii:
            user.groups.add(Group.objects.get_or_create(name="pii")[0])
        return user

    return make
