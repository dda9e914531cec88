"""load_demo: a six-month history replayed day by day through the engine, dated as it happened, with names on every
member, scores spread against the stage thresholds, and nothing added when run again (issue 12)."""
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone as dt_timezone
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Min
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from community_scoring.influence.models import InfluenceRun, InfluenceScore
from community_scoring.management import demo_community
from community_scoring.management.commands import load_demo
from community_scoring.management.commands.load_demo import DAYS, MEMBERS, SEED, SOURCE, demo_replay
from community_scoring.management.demo_community import generate
from community_scoring.management.demo_crm import HIDDEN_WEIGHTS, crm_outcomes
from community_scoring.models import Action, Content, InterestScore, Member, ScoreSnapshot, Stage, StageTransition
from community_scoring.outcomes.models import Outcome
from community_scoring.scoring.decay import day_start, to_epoch_days
from community_scoring.scoring.ledger import BucketTally, bucket_values, engagement_at
from community_scoring.selectors import interest as interest_selectors
from community_scoring.selectors.config import scoring_config_current
from tests.community_scoring.services.interest_helpers import install_test_config
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

TODAY = datetime(2026, 3, 15, 10, 30, tzinfo=dt_timezone.utc)
END = datetime(2026, 3, 15, tzinfo=dt_timezone.utc)  # the history ends at the midnight that starts "today"


def _state() -> dict:
    """Everything the replay writes, as comparable values."""
    return {
        "members": sorted(Member.objects.values_list("external_id", "display_name", "joined_at")),
        "contents": Content.objects.count(),
        "actions": sorted(Action.objects.values_list("source", "external_event_id", "occurred_at")),
        "transitions": sorted(StageTransition.objects.values_list("member__external_id", "from_stage", "to_stage",
                                                                  "occurred_at", "reason")),
        "snapshots": sorted(ScoreSnapshot.objects.values_list("member__external_id", "date", "engagement", "stage")),
        "runs": sorted(InfluenceRun.objects.values_list("ref_time", flat=True)),
        "outcomes": sorted(Outcome.objects.values_list("outcome_id", "type", "occurred_at", "member__external_id")),
    }


def test_a_replayed_history_is_dated_as_it_happened_names_everyone_and_is_idempotent():
    days, members, every = 60, 50, 15
    out = StringIO()
    result = demo_replay(members=members, days=days, influence_every=every, today=TODAY)
    assert result.days == days and result.added["members"] == members
    start = END - timedelta(days=days)
    history = generate(members=members, seed=SEED, start=start, days=days)
    assert Action.objects.filter(source=SOURCE).count() == len(history.events)
    # The demo's CRM: every outcome it generated, on the member it names, dated as it happened.
    crm = crm_outcomes(history, seed=SEED)
    assert crm and result.added["outcomes"] == len(crm)
    assert sorted(Outcome.objects.values_list("outcome_id", "type", "occurred_at", "member__external_id")) == sorted(
        (o.outcome_id, o.type, o.at, history.members[o.member].external_id) for o in crm)

    # Stage transitions happened across the months, at the action that crossed a threshold or at a day's close
    # (decay), never at load time.
    transitions = list(StageTransition.objects.values_list("occurred_at", "reason"))
    assert len(transitions) > members / 4
    assert all(start <= at < END for at, _ in transitions)
    months = {at.strftime("%Y-%m") for at, _ in transitions}
    assert len(months) >= 3
    assert len({at.date() for at, _ in transitions}) > 20
    sales_moves = {"sales_accepted", "sql", "opportunity", "won", "sales_rejected", "lost", "churned"}
    assert {reason for _, reason in transitions} <= {"action", "decay"} | sales_moves
    decay_times = {at.time() for at, reason in transitions if reason == "decay"}
    assert decay_times <= {datetime.max.time().replace(microsecond=0)}  # a day's close: 23:59:59
    # A member's transitions follow their actions: none before their first action.
    first_action = dict(Action.objects.values("member_id").annotate(first=Min("occurred_at"))
                        .values_list("member_id", "first"))
    assert all(at >= first_action[m] for m, at in StageTransition.objects.values_list("member_id", "occurred_at"))

    # One snapshot per scored member per day from their first day on, dated that day; the last one agrees with the
    # stored score (valued at the history's last second).
    dates = sorted(ScoreSnapshot.objects.dates("date", "day"))
    assert dates == [(start + timedelta(days=d)).date() for d in range(days)]
    per_member = defaultdict(list)
    for member_id, date in ScoreSnapshot.objects.order_by("date").values_list("member_id", "date"):
        per_member[member_id].append(date)
    for score in InterestScore.objects.all():
        assert score.ref_time is not None and score.ref_time <= END
        last = ScoreSnapshot.objects.get(member_id=score.member_id, date=dates[-1])
        assert (last.stage, last.engagement) == (score.stage, pytest.approx(score.engagement))
        own = per_member[score.member_id]
        assert own == dates[dates.index(own[0]):] and own[0] >= first_action[score.member_id].date()
    # Influence runs at every 15th day's close, the last day included; the last one finds the planted detractor and
    # advocate (widely followed, clearly negative / positive).
    runs = sorted(InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).values_list("ref_time", flat=True))
    assert runs == [start + timedelta(days=d + 1, seconds=-1) for d in range(days - 1, -1, -every)][::-1]
    planted = {m.external_id: m.planted for m in history.members if m.planted}
    assert sorted(planted.values()) == ["advocate", "detractor"]
    last = InfluenceScore.objects.filter(run=InfluenceRun.objects.get(ref_time=runs[-1]))
    for score in last.select_related("member"):
        kind = planted.get(score.member.external_id)
        if kind:
            assert (score.is_detractor, score.is_advocate) == (kind == "detractor", kind == "advocate")
    assert last.filter(is_detractor=True).exists() and last.filter(is_advocate=True).exists()

    # Every member has a name, content authors and followed members included, and joined inside the history.
    assert not Member.objects.filter(display_name="").exists()
    authors = set(Content.objects.values_list("author_id", flat=True))
    targets = set(Action.objects.exclude(target_member=None).values_list("target_member_id", flat=True))
    assert authors and targets
    assert set(Member.objects.filter(pk__in=authors | targets).exclude(display_name="").values_list("pk", flat=True)) \
        == authors | targets
    assert all(start <= joined < END for joined in Member.objects.values_list("joined_at", flat=True))
    names = dict(Member.objects.values_list("external_id", "display_name"))
    assert names == {m.external_id: m.name for m in history.members}

    # Running it again (later the same day, or days later) adds nothing and changes no history.
    before = _state()
    call_command("load_demo", "--members", str(members), "--days", str(days), "--influence-every", str(every),
                 stdout=out)
    again = demo_replay(members=members, days=days, influence_every=every, today=TODAY + timedelta(days=3))
    assert again.days == 0 and again.added == {"members": 0, "contents": 0, "actions": 0, "outcomes": 0}
    assert "added 0 members, 0 contents, 0 actions" in out.getvalue()
    assert _state() == before
    # Another community (another seed) is refused, not mixed into this history.
    with pytest.raises(CommandError, match="different demo community"):
        call_command("load_demo", "--members", str(members), "--days", str(days), "--seed", str(SEED + 1))
    assert _state() == before


def test_an_interrupted_replay_resumes_where_it_stopped(monkeypatch):
    days, members = 12, 25
    real = load_demo.interest_snapshot_take
    calls = []

    def snapshot_failing_on_day_8(*, now):
        calls.append(now)
        if len(calls) == 8:
            raise RuntimeError("power cut")
        return real(now=now)

    monkeypatch.setattr(load_demo, "interest_snapshot_take", snapshot_failing_on_day_8)
    with pytest.raises(RuntimeError):
        demo_replay(members=members, days=days, influence_every=1, today=TODAY)
    start = END - timedelta(days=days)
    assert sorted(ScoreSnapshot.objects.dates("date", "day")) == [(start + timedelta(days=d)).date() for d in range(7)]
    history = generate(members=members, seed=SEED, start=start, days=days)
    assert Action.objects.filter(source=SOURCE).count() == sum(len(day) for day in history.events_by_day[:7])

    monkeypatch.setattr(load_demo, "interest_snapshot_take", real)
    resumed = demo_replay(members=members, days=days, influence_every=1, today=TODAY + timedelta(days=1))
    assert resumed.days == days - 7
    assert sorted(ScoreSnapshot.objects.dates("date", "day")) == [(start + timedelta(days=d)).date() for d in range(days)]
    assert Action.objects.filter(source=SOURCE).count() == len(history.events)
    # The demo's CRM: every outcome it generated, on the member it names, dated as it happened.
    crm = crm_outcomes(history, seed=SEED)
    assert crm  # the resumed days recorded theirs: every one is stored, once
    assert sorted(Outcome.objects.values_list("outcome_id", "type", "occurred_at", "member__external_id")) == sorted(
        (o.outcome_id, o.type, o.at, history.members[o.member].external_id) for o in crm)
    assert InfluenceRun.objects.filter(status=InfluenceRun.Status.DONE).count() == days


def test_the_default_demo_spreads_scores_across_the_stages():
    """The default history (the size `make run` loads), valued at its end from the log alone with the pure rules
    (scoring.ledger), independently of the stores: most members below engaged, a healthy engaged group, a few
    dozen MQLs, a handful at the top stage, and the top member a small multiple of the top threshold."""
    config = scoring_config_current()
    start = END - timedelta(days=DAYS)
    history = generate(members=MEMBERS, seed=SEED, start=start, days=DAYS)
    tallies: dict[int, dict] = defaultdict(dict)
    for e in history.events:
        target = e.target if e.target is not None else (
            history.contents[e.content].author if e.content is not None else None)
        if target == e.member:
            continue
        for owner, received in [(e.member, False)] + ([(target, True)] if target is not None else []):
            key = (e.type, received, e.at.date())
            tally = tallies[owner].setdefault(key, BucketTally(e.type, received, day_start(e.at.date())))
            tally.count += 1
    stages = Counter()
    top = 0.0
    for i, member in enumerate(history.members):
        rules = config.for_persona(member.persona)
        kept = [t for t in tallies[i].values() if not t.received or rules.rule(t.action_type).target_points]
        engagement = engagement_at(bucket_values(kept, rules), to_epoch_days(END), rules.half_life_days)
        stages[config.stage_for(engagement, rules.fit(member.attributes, member.persona))] += 1
        top = max(top, engagement)
    ordered = list(Stage.objects.order_by("position").values_list("name", "min_engagement"))
    (visitor, _), (engaged, _), (mql, _), (highest, threshold) = ordered
    assert stages[visitor] > MEMBERS * 0.4 and stages[visitor] == max(stages.values())
    assert MEMBERS / 5 < stages[engaged] < stages[visitor]
    assert 15 <= stages[mql] <= 60
    assert 3 <= stages[highest] <= 15
    assert 1.5 * threshold < top < 5 * threshold


def test_planted_advocates_and_detractors_write_what_vader_says_they_do():
    analyzer = SentimentIntensityAnalyzer()
    for topic in demo_community.TOPICS:
        t = topic.replace("-", " ")
        assert all(analyzer.polarity_scores(s.format(t=t))["compound"] >= 0.3 for s in demo_community.POSITIVE)
        assert all(analyzer.polarity_scores(s.format(t=t))["compound"] <= -0.3 for s in demo_community.NEGATIVE)
        assert all(analyzer.polarity_scores(s.format(t=t))["compound"] < 0 for s in demo_community.COMPLAINTS)
        assert all(abs(analyzer.polarity_scores(s.format(t=t))["compound"]) < 0.3 for s in demo_community.NEUTRAL)
    history = generate(members=MEMBERS, seed=SEED, start=END - timedelta(days=DAYS), days=DAYS)
    planted = Counter(m.planted for m in history.members if m.planted)
    assert planted == {"advocate": 4, "detractor": 3}
    texts: dict[int, list[str]] = defaultdict(list)
    for e in history.events:
        if e.text:
            texts[e.member].append(e.text)
    followers = Counter(e.target for e in history.events if e.type == "follow")
    median_followers = sorted(followers[i] for i in range(MEMBERS))[MEMBERS // 2]
    p90_texts = sorted(len(texts[i]) for i in range(MEMBERS))[MEMBERS * 9 // 10]
    for i, member in enumerate(history.members):
        if member.planted:  # widely followed, prolific, and clearly warm or clearly negative
            scores = [analyzer.polarity_scores(text)["compound"] for text in texts[i]]
            mean = sum(scores) / len(scores)
            assert len(scores) >= 2 * p90_texts and followers[i] >= 5 * max(1, median_followers)
            assert mean > 0.4 if member.planted == "advocate" else mean < -0.4


def test_the_demo_crm_is_seeded_ordered_and_follows_its_hidden_rule():
    """What sales saw in the demo: the same every time; a lead is decided after it converts, an opportunity after
    acceptance, won or lost after the opportunity; and converters were far more active (by the hidden weights) in
    the 30 days before converting than members on an ordinary day."""
    start = datetime(2026, 6, 1, tzinfo=dt_timezone.utc)
    history = generate(members=MEMBERS, seed=SEED, start=start, days=DAYS)
    crm = crm_outcomes(history, seed=SEED)
    assert crm == crm_outcomes(history, seed=SEED)
    by_member = defaultdict(list)
    for o in crm:
        by_member[o.member].append(o)
    follows = {"sales_accepted": "converted", "sales_rejected": "converted", "opportunity": "sales_accepted",
               "won": "opportunity", "lost": "opportunity"}
    for outcomes in by_member.values():
        kinds = [o.type for o in sorted(outcomes, key=lambda o: o.at)]
        assert kinds.count("converted") == 1 and kinds[0] == "converted"
        for before, after in zip(kinds, kinds[1:]):
            assert follows[after] == before
    assert all(start <= o.at < start + timedelta(days=DAYS) for o in crm)

    def signal(member: int, day: int) -> float:
        return sum(HIDDEN_WEIGHTS.get(e.type, 0.0) for d in range(max(0, day - 29), day + 1)
                   for e in history.events_by_day[d] if e.member == member)

    converters = [signal(o.member, (o.at - start).days) for o in crm if o.type == "converted"]
    ordinary = [signal(m, day) for m in range(0, MEMBERS, 7) for day in range(30, DAYS, 30)]
    assert len(converters) >= 30
    assert sum(converters) / len(converters) > 3 * sum(ordinary) / len(ordinary)


def test_the_summary_counts_the_demo_members_per_stage_valued_now(monkeypatch):
    """The closing "Stages:" line counts stages as every read shows them, valued now: a member stored as MQL whose
    engagement has decayed below MQL's threshold since (the stored column lags by up to an hour) is engaged."""
    monkeypatch.setattr(interest_selectors, "valued_now", lambda: TODAY)
    install_test_config()  # half-life 10 days; engaged: engagement >= 20; MQL: >= 50 and fit >= 20

    def stored(external_id, *, source=SOURCE, days_ago):
        member = MemberFactory(source=source, external_id=external_id)
        InterestScore.objects.create(member=member, engagement=60, fit=25, score=85, stage="MQL",
                                     ref_time=TODAY - timedelta(days=days_ago))

    stored("faded", days_ago=10)  # 60 / 2 = 30 now: engaged
    stored("fresh", days_ago=0)  # MQL
    stored("elsewhere", source="forum", days_ago=0)  # not the demo's
    assert load_demo.stage_counts() == {"engaged": 1, "MQL": 1}
