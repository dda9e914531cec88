"""The action log and the interest rows keep no database foreign-key constraints (ingest speed, see
models.action): deleting through Django must still cascade, null or protect exactly as the models say."""
import pytest
from django.db.models import ProtectedError

from community_scoring.models import Action, ActionType, InterestBucket, InterestScore, InterestTopic
from tests.community_scoring.services.interest_helpers import install_test_config, record
from tests.factories import ContentFactory, MemberFactory

pytestmark = pytest.mark.django_db


def test_deleting_a_member_removes_their_actions_and_interest_rows_and_unlinks_what_targeted_them():
    install_test_config()
    author, voter = MemberFactory(), MemberFactory()
    post = ContentFactory(author=author, topic="python")
    record(author, "answer", topic="python")
    vote, _ = record(voter, "vote_up", target_content=post)
    assert InterestBucket.objects.filter(member=author).exists() and InterestTopic.objects.filter(member=author).exists()

    author.delete()

    assert not Action.objects.filter(member_id=author.pk).exists()
    assert not InterestBucket.objects.filter(member_id=author.pk).exists()
    assert not InterestTopic.objects.filter(member_id=author.pk).exists()
    assert not InterestScore.objects.filter(member_id=author.pk).exists()
    vote.refresh_from_db()
    assert vote.target_member_id is None and vote.member_id == voter.pk
    assert InterestScore.objects.filter(member=voter).exists()


def test_deleting_content_keeps_the_actions_on_it_without_the_link():
    install_test_config()
    post = ContentFactory(author=MemberFactory())
    vote, _ = record(MemberFactory(), "vote_up", target_content=post)
    post.delete()
    vote.refresh_from_db()
    assert vote.target_content_id is None


def test_an_action_type_in_use_cannot_be_deleted():
    install_test_config()
    record(MemberFactory(), "answer")
    with pytest.raises(ProtectedError):
        ActionType.objects.get(key="answer").delete()
