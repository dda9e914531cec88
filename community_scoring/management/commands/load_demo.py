"""`manage.py load_demo`: a demo community with six months of history, replayed through the engine day by day.

The history (community_scoring.management.demo_community: about 300 members, seeded) ends at the UTC midnight
that starts today. Each simulated day is played as the engine would have lived it, with ``now`` = the day's last
second: the day's events go through the one door, ``actions_ingest``, as a nightly sync would send them (so a
member's ``joined_at`` is the evening of their sign-up day); then inactivity penalties, the day's interest snapshot
(decay and stage drops) and an influence run. So stage transitions (at the action that crossed the threshold, or
at the day's close for decay), snapshots, score history and influence runs carry the dates they happened on.

Deterministic (seed, size and launch date fix every id and time) and idempotent: the launch date is read back
from the stored history (its first event), a day whose snapshot (and influence run) exists is skipped, so running
it again inserts nothing and an interrupted load resumes where it stopped. A different stored demo (another seed
or size, or an older loader's) is refused rather than mixed in.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from community_scoring.influence.models import InfluenceRun
from community_scoring.influence.recompute import influence_recompute
from community_scoring.management.demo_community import DemoHistory, generate
from community_scoring.management.demo_crm import SOURCE as CRM_SOURCE, DemoOutcome, crm_outcomes
from community_scoring.models import Action, Content, InterestScore, Member, ScoreSnapshot
from community_scoring.selectors import interest as interest_selectors
from community_scoring.services.events import MAX_BATCH, REJECTED, ContentIn, EventIn, MemberIn
from community_scoring.services.inactivity import interest_inactivity_apply
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.community_days import community_days_refresh
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.intake import OutcomeIn, OutcomeMemberIn, outcomes_record
from community_scoring.services.snapshots import interest_snapshot_take

SOURCE = "demo"
DAYS = 180
MEMBERS = 300
SEED = 7
TRIGGER = "demo"  # InfluenceRun.trigger of the replay's runs
FIRST_EVENT = "a0"  # its day is the launch (ids follow time)


def history_start(*, days: int, today: datetime | None = None) -> datetime:
    """The launch of a history of ``days`` days: the one already stored, else ``days`` before today's UTC midnight."""
    first = Action.objects.filter(source=SOURCE, external_event_id=FIRST_EVENT).values_list("occurred_at", flat=True)
    moment = first.first()
    if moment is None:
        moment = (today or timezone.now()) - timedelta(days=days)
    moment = moment.astimezone(dt_timezone.utc)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _same_history_or_fail(history: DemoHistory) -> None:
    """Refuse to add to a different stored demo (another seed or size, or an older load_demo): its days would be
    taken for this history's and their snapshots rewritten."""
    stored = Action.objects.filter(source=SOURCE, external_event_id=FIRST_EVENT).values_list(
        "member__external_id", "action_type_id", "occurred_at").first()
    first = history.events_by_day[0][0]
    if stored is not None and stored != (history.members[first.member].external_id, first.type, first.at):
        raise CommandError("The database holds a different demo community (another --seed or --members, or one "
                           "loaded by an older load_demo). Start from an empty database (e.g. delete db.sqlite3) "
                           "to load this one.")


def day_close(history: DemoHistory, day: int) -> datetime:
    """The day's last second: when its penalties, snapshot and influence run happen (dated that day)."""
    return history.day_start(day + 1) - timedelta(seconds=1)


def day_events(history: DemoHistory, day: int) -> list[EventIn]:
    """The day's events as the engine's events, in time order; each names its member in full (name included)."""
    members, contents = history.members, history.contents

    def member_in(m: int) -> MemberIn:
        member = members[m]
        return MemberIn(external_id=member.external_id, email=member.email, name=member.name,
                        persona=member.persona, attributes=member.attributes)

    def content_in(c: int | None) -> ContentIn | None:
        if c is None:
            return None
        content = contents[c]
        return ContentIn(external_id=content.external_id, topic=content.topic, kind=content.kind,
                         title=content.title, author_external_id=members[content.author].external_id)

    return [
        EventIn(source=SOURCE, event_id=e.external_id, type=e.type, occurred_at=e.at, member=member_in(e.member),
                target_member=MemberIn(external_id=members[e.target].external_id) if e.target is not None else None,
                target_content=content_in(e.content), content=content_in(e.made), text=e.text,
                metadata=e.metadata or None)
        for e in history.events_by_day[day]
    ]


def crm_record(history: DemoHistory, outcomes: list[DemoOutcome], *, now: datetime) -> None:
    """What the demo's CRM saw (demo_crm), through the outcomes intake: each names its member by email, as a CRM
    sync does. Already recorded outcomes come back as duplicates and change nothing."""
    members = history.members
    for first in range(0, len(outcomes), MAX_BATCH):
        batch = [OutcomeIn(source=CRM_SOURCE, outcome_id=o.outcome_id, type=o.type, occurred_at=o.at,
                           member=OutcomeMemberIn(email=members[o.member].email), reason=o.reason, value=o.value)
                 for o in outcomes[first:first + MAX_BATCH]]
        for result in outcomes_record(outcomes=batch, recorded_by="load_demo", now=now):
            if result.status == REJECTED:
                raise CommandError(f"demo outcome {result.outcome_id} was refused: {result.errors}")


@dataclass
class ReplayResult:
    days: int = 0  # days played (the others were already stored)
    added: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: Counter())


def demo_replay(*, members: int = MEMBERS, seed: int = SEED, days: int = DAYS, influence_every: int = 1,
                today: datetime | None = None, progress=None) -> ReplayResult:
    """Play the demo history day by day (see the module docstring); returns what it added and where time went.

    ``influence_every``: an influence run every this many days (and on the last day).
    """
    start = history_start(days=days, today=today)
    history = generate(members=members, seed=seed, start=start, days=days)
    _same_history_or_fail(history)
    snapshot_days = set(ScoreSnapshot.objects.filter(member__source=SOURCE).dates("date", "day"))
    run_times = set(InfluenceRun.objects.filter(trigger=TRIGGER, status=InfluenceRun.Status.DONE)
                    .values_list("ref_time", flat=True))
    outcomes = crm_outcomes(history, seed=seed)
    outcomes_by_day: dict[int, list[DemoOutcome]] = {}
    for outcome in outcomes:
        outcomes_by_day.setdefault((outcome.at - start).days, []).append(outcome)
    before = {model: model.objects.filter(source=SOURCE).count() for model in (Member, Content, Action)}
    before[Outcome] = Outcome.objects.filter(source=CRM_SOURCE).count()
    result = ReplayResult()
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.seconds[name] += now - clock
        clock = now

    for day in range(days):
        close = day_close(history, day)
        influence_due = day == days - 1 or (days - 1 - day) % influence_every == 0
        if close.date() in snapshot_days and (not influence_due or close in run_times):
            continue  # played before
        with transaction.atomic():  # a day is played whole or not at all (and one commit is cheaper than hundreds)
            events = day_events(history, day)
            for first in range(0, len(events), MAX_BATCH):
                for outcome in actions_ingest(events=events[first:first + MAX_BATCH], now=close):
                    if outcome.status == REJECTED:
                        raise CommandError(f"demo event {outcome.event_id} was refused: {outcome.errors}")
            lap("ingest")
            crm_record(history, outcomes_by_day.get(day, []), now=close)
            lap("outcomes")
            interest_inactivity_apply(now=close)
            lap("inactivity")
            interest_snapshot_take(now=close)
            lap("snapshot")
            if influence_due:
                run = influence_recompute(trigger=TRIGGER, ref_time=close)
                if run.status != InfluenceRun.Status.DONE:
                    raise CommandError(f"influence run {run.pk} on {close.date()}: {run.status} {run.error}")
                lap("influence")
        result.days += 1
        if progress is not None and (day + 1) % 30 == 0:
            progress(f"  day {day + 1}/{days} ({close.date()})")
    # A community loaded before the demo had a CRM gets its outcomes now (the others are duplicates: no change).
    crm_record(history, outcomes, now=day_close(history, days - 1))
    lap("outcomes")
    # The dashboard's daily aggregates, once over the whole range (cheaper than once per replayed day).
    community_days_refresh(since=None, until=day_close(history, days - 1).date())
    lap("community days")
    result.added = {model.__name__.lower() + "s": model.objects.filter(
        source=CRM_SOURCE if model is Outcome else SOURCE).count() - n for model, n in before.items()}
    return result


def stage_counts() -> dict[str, int]:
    """The demo's members per stage valued now, as every read shows stages (not the stored, lagging column)."""
    return interest_selectors.scores_per_stage(InterestScore.objects.filter(member__source=SOURCE),
                                               at=interest_selectors.valued_now())


class Command(BaseCommand):
    help = (f"Load a seeded demo community (~{MEMBERS} members, six months) by replaying its history through the "
            "engine day by day: actions, inactivity penalties, daily interest snapshots and influence runs.")

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=MEMBERS)
        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument("--days", type=int, default=DAYS, help=f"Days of history (default {DAYS}).")
        parser.add_argument("--influence-every", type=int, default=1,
                            help="An influence run every this many simulated days (default: daily).")

    def handle(self, *args, members: int, seed: int, days: int, influence_every: int, **options):
        if members < 2 or days < 1 or influence_every < 1:
            raise CommandError("--members must be at least 2, --days and --influence-every at least 1")
        started = time.monotonic()
        result = demo_replay(members=members, seed=seed, days=days, influence_every=influence_every,
                             progress=self.stdout.write)
        added = result.added
        self.stdout.write(f"Demo community: added {added['members']} members, {added['contents']} contents, "
                          f"{added['actions']} actions (source {SOURCE!r}) and {added['outcomes']} CRM outcomes "
                          f"({CRM_SOURCE!r}) over {result.days} replayed days; "
                          "re-running adds nothing.")
        if result.days:
            spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items())
            self.stdout.write(f"Replay: {spent}.")
        stages = stage_counts()
        self.stdout.write("Stages: " + ", ".join(f"{name} {n}" for name, n in sorted(stages.items(), key=lambda kv: -kv[1])))
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")
