"""`manage.py load_demo`: a realistic demo community (seeded, deterministic, idempotent), then interest scores.

About 300 members in five personas with job titles, company sizes and industries; ~40 topics of questions,
answers, comments and blog posts; ~20k actions over the last 120 days: votes, follows towards a power-law of
popular members, reads, shares, rated poll responses, logins, sign-ups and a few unsubscribes. Activity per
member is heavy-tailed (a few very active experts, many lurkers); a small share of members write negative
texts (detractors). Every row has source "demo" and an id derived from the generation order, so running the
command again inserts nothing new. The members are inserted first (with their join dates); every action then goes
through the engine's one door, `actions_ingest`, in batches of up to 1,000 events, each event naming the content
it created and the content it acts on. Ends with a recompute of interest and a backfill of daily snapshots.
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from community_scoring.models import Action, Content, Member
from community_scoring.services.events import MAX_BATCH, REJECTED, ContentIn, EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from community_scoring.services.recompute import interest_recompute
from community_scoring.services.snapshots import interest_snapshot_take, interest_snapshots_backfill

SOURCE = "demo"
DAYS = 120

TOPICS = [
    "python-sdk", "javascript-sdk", "rest-api", "graphql", "webhooks", "authentication", "sso", "permissions",
    "billing", "pricing", "onboarding", "data-import", "data-export", "integrations", "salesforce-sync",
    "hubspot-sync", "analytics", "dashboards", "reporting", "segmentation", "email-campaigns", "landing-pages",
    "seo", "ab-testing", "mobile-sdk", "performance", "security", "compliance", "self-hosting", "kubernetes",
    "ci-cd", "observability", "machine-learning", "forecasting", "search", "localization", "accessibility",
    "roadmap", "feature-requests", "community-events",
]

PERSONAS = {
    # persona: (share, job titles, favourite topics)
    "developer": (0.42, ["Software Engineer", "Senior Software Engineer", "Backend Developer", "Staff Engineer",
                         "Frontend Developer", "DevOps Engineer", "CTO"],
                  ["python-sdk", "javascript-sdk", "rest-api", "graphql", "webhooks", "authentication", "sso",
                   "mobile-sdk", "performance", "security", "self-hosting", "kubernetes", "ci-cd", "observability"]),
    "marketer": (0.22, ["Marketing Manager", "Growth Marketer", "Content Strategist", "Demand Gen Lead",
                        "Head of Marketing"],
                 ["email-campaigns", "landing-pages", "seo", "ab-testing", "segmentation", "analytics",
                  "hubspot-sync", "salesforce-sync", "community-events"]),
    "manager": (0.16, ["Product Manager", "Engineering Manager", "VP Operations", "Customer Success Manager",
                       "Director of IT"],
                ["pricing", "billing", "roadmap", "feature-requests", "onboarding", "permissions", "compliance",
                 "reporting", "dashboards"]),
    "data-scientist": (0.12, ["Data Scientist", "Data Engineer", "Analytics Engineer", "ML Engineer"],
                       ["machine-learning", "forecasting", "analytics", "data-import", "data-export", "reporting",
                        "python-sdk", "search"]),
    "designer": (0.08, ["Product Designer", "UX Researcher", "UI Designer"],
                 ["accessibility", "localization", "dashboards", "onboarding", "landing-pages", "feature-requests"]),
}
COMPANY_SIZES = [5, 12, 30, 60, 120, 250, 500, 1200, 5000, 20000]
INDUSTRIES = ["software", "saas", "fintech", "retail", "healthcare", "education", "manufacturing", "media"]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
         "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe"]
LAST = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Silva", "Novak", "Haddad", "Kowalski", "Nguyen", "Schmidt",
        "Rossi", "Patel", "Murphy", "Kim", "Fischer", "Garcia", "Ivanova", "Mensah", "Costa", "Berg"]

QUESTIONS = [
    "How do I configure {t} for a multi-tenant setup?", "Best way to debug {t} timeouts in production?",
    "Is there an example of {t} with pagination?", "Why does {t} return 403 after token refresh?",
    "Can {t} handle 10k events per minute?", "Migrating our {t} setup from the old version: any gotchas?",
    "What is the recommended {t} workflow for a small team?", "{t}: how do you test this locally?",
]
POSITIVE = [
    "Thanks, this worked perfectly! Great explanation of {t}.", "Brilliant answer, saved me hours. Really appreciate it.",
    "This is exactly what I needed, the {t} example is super clear.", "Love this approach, clean and easy to follow.",
    "Works great for us too, thanks for sharing!", "Excellent write-up, the {t} docs should link to this.",
    "Helpful and well explained. Nice work!", "Great tip, our {t} setup is much faster now.",
]
NEUTRAL = [
    "We use a similar {t} configuration, with a retry queue in front.", "Did you check the {t} settings page?",
    "Same question here, following.", "Which version are you on? The {t} behaviour changed in 3.2.",
    "You can also set the timeout per request.", "Here is how we structured our {t} pipeline.",
]
NEGATIVE = [
    "This is wrong and frankly useless, the {t} docs are terrible.", "Still broken. Honestly the worst {t} experience I have had.",
    "This does not work at all and support ignored us for weeks.", "Awful workaround, it breaks everything else.",
    "Disappointing: {t} keeps failing and nobody seems to care.", "Bad advice, this caused an outage for us.",
]
POLLS = ["How satisfied are you with the {t} docs?", "Rate the new {t} release", "How likely are you to recommend {t}?"]


@dataclass
class Demo:
    """Everything generated, as plain data keyed by deterministic external ids."""

    rng: random.Random
    now: datetime
    members: list[dict] = field(default_factory=list)
    contents: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)

    def when(self, earliest: datetime | None = None) -> datetime:
        start = max(self.now - timedelta(days=DAYS), earliest or self.now - timedelta(days=DAYS))
        span = (self.now - timedelta(minutes=10) - start).total_seconds()
        # More activity lately (a growing community): skew towards the end of the window.
        return start + timedelta(seconds=span * (self.rng.random() ** 0.7))

    def act(self, member: int, action_type: str, at: datetime, *, content: int | None = None,
            target: int | None = None, made: int | None = None, topic: str = "", text: str = "",
            metadata: dict | None = None) -> None:
        """`content` is what the action targets, `made` the content it created."""
        self.actions.append({"id": f"a{len(self.actions)}", "member": member, "type": action_type, "at": at,
                             "content": content, "target": target, "made": made, "topic": topic, "text": text,
                             "metadata": metadata or {}})

    def content(self, author: int, kind: str, topic: str, title: str, at: datetime) -> int:
        self.contents.append({"id": f"c{len(self.contents)}", "author": author, "kind": kind, "topic": topic,
                              "title": title[:300], "at": at})
        return len(self.contents) - 1


def generate(*, members: int, seed: int, now: datetime) -> Demo:
    rng = random.Random(seed)
    demo = Demo(rng=rng, now=now)
    personas = list(PERSONAS)
    weights = [PERSONAS[p][0] for p in personas]
    for i in range(members):
        persona = rng.choices(personas, weights)[0]
        _, titles, favourites = PERSONAS[persona]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        joined = now - timedelta(days=rng.uniform(5, 700))
        demo.members.append({
            "id": f"m{i}", "name": f"{first} {last}", "email": f"{first}.{last}.{i}@example.com".lower(),
            "persona": persona, "joined": joined,
            "attributes": {"job_title": rng.choice(titles), "company_size": rng.choice(COMPANY_SIZES),
                           "industry": rng.choice(INDUSTRIES)},
            # Heavy-tailed activity: a few very active experts, and about half the members mostly lurk.
            "activity": rng.paretovariate(1.3) * (0.12 if rng.random() < 0.5 else 1.0),
            "popularity": rng.paretovariate(1.1),        # who gets followed
            "tone": rng.choices(["positive", "neutral", "negative"], [0.62, 0.3, 0.08])[0],
            "topics": rng.sample(favourites, k=min(len(favourites), rng.randint(2, 5))),
        })
    activity = [m["activity"] for m in demo.members]
    popularity = [m["activity"] * m["popularity"] for m in demo.members]
    ids = range(members)

    cumulative = {id(activity): list(itertools.accumulate(activity)), id(popularity): list(itertools.accumulate(popularity))}

    def someone(weights_: list[float], exclude: int | None = None) -> int:
        while True:
            pick = rng.choices(ids, cum_weights=cumulative[id(weights_)])[0]
            if pick != exclude:
                return pick

    def text_for(member: int, topic: str) -> str:
        tone = demo.members[member]["tone"]
        if tone == "positive" and rng.random() < 0.2 or tone == "neutral" and rng.random() < 0.3:
            tone = "neutral" if tone == "positive" else "positive"
        pool = {"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}[tone]
        return rng.choice(pool).format(t=topic.replace("-", " "))

    def topic_of(member: int) -> str:
        return rng.choice(demo.members[member]["topics"]) if rng.random() < 0.8 else rng.choice(TOPICS)

    def joined(member: int) -> datetime:
        return demo.members[member]["joined"]

    # Sign-ups of members who joined inside the window.
    for m in ids:
        if joined(m) > now - timedelta(days=DAYS):
            demo.act(m, "signup", joined(m))

    # Questions, their answers, comments, votes, reads, shares, solutions.
    for _ in range(members * 3):
        asker = someone(activity)
        topic, at = topic_of(asker), demo.when(joined(asker))
        question = demo.content(asker, "question", topic, rng.choice(QUESTIONS).format(t=topic.replace("-", " ")), at)
        demo.act(asker, "question", at, made=question, topic=topic, text=demo.contents[question]["title"])
        readers = rng.randint(2, 12)
        for _ in range(readers):
            reader = someone(activity, exclude=asker)
            demo.act(reader, "read", at + timedelta(hours=rng.uniform(0.2, 240)), content=question)
        answers = []
        for _ in range(rng.choices([0, 1, 2, 3, 4], [0.15, 0.35, 0.3, 0.13, 0.07])[0]):
            expert = someone(popularity, exclude=asker)
            answer_at = at + timedelta(hours=rng.uniform(0.3, 72))
            answer = demo.content(expert, "answer", topic, f"Re: {demo.contents[question]['title']}", answer_at)
            demo.act(expert, "answer", answer_at, content=question, made=answer, text=text_for(expert, topic))
            answers.append((answer, expert, answer_at))
            for _ in range(rng.choices([0, 1, 2, 3], [0.4, 0.35, 0.17, 0.08])[0]):
                commenter = someone(activity, exclude=expert)
                comment_at = answer_at + timedelta(hours=rng.uniform(0.1, 48))
                comment = demo.content(commenter, "comment", topic, "comment", comment_at)
                demo.act(commenter, "comment", comment_at, content=answer, made=comment,
                         text=text_for(commenter, topic))
                if rng.random() < 0.3:
                    voter = someone(activity, exclude=commenter)
                    demo.act(voter, "vote_up", comment_at + timedelta(hours=rng.uniform(0.1, 24)), content=comment)
            for _ in range(int(rng.paretovariate(1.6) * 2)):
                voter = someone(activity, exclude=expert)
                kind = "vote_down" if demo.members[expert]["tone"] == "negative" and rng.random() < 0.5 or \
                    rng.random() < 0.05 else "vote_up"
                demo.act(voter, kind, answer_at + timedelta(hours=rng.uniform(0.1, 96)), content=answer)
        if answers and rng.random() < 0.45:
            best = max(answers, key=lambda a: demo.members[a[1]]["popularity"] * rng.random())
            demo.act(asker, "solved", best[2] + timedelta(hours=rng.uniform(1, 48)), content=best[0])
        for _ in range(rng.choices([0, 1, 2], [0.6, 0.3, 0.1])[0]):
            voter = someone(activity, exclude=asker)
            demo.act(voter, "vote_up", at + timedelta(hours=rng.uniform(0.1, 72)), content=question)
        if rng.random() < 0.12:
            sharer = someone(activity, exclude=asker)
            demo.act(sharer, "share", at + timedelta(hours=rng.uniform(1, 120)), content=question)

    # Blog posts by the most active developers and marketers, widely read and shared.
    writers = [m for m in ids if demo.members[m]["persona"] in ("developer", "marketer", "data-scientist")]
    for _ in range(members // 2):
        author = rng.choices(writers, [activity[w] for w in writers])[0]
        topic, at = topic_of(author), demo.when(joined(author))
        post = demo.content(author, "blog_post", topic, f"What we learned about {topic.replace('-', ' ')}", at)
        demo.act(author, "blog_post", at, made=post, topic=topic, text=text_for(author, topic))
        for _ in range(rng.randint(5, 25)):
            demo.act(someone(activity, exclude=author), "read", at + timedelta(hours=rng.uniform(0.5, 300)), content=post)
        for _ in range(rng.randint(0, 6)):
            demo.act(someone(activity, exclude=author), "vote_up", at + timedelta(hours=rng.uniform(0.5, 200)), content=post)
        for _ in range(rng.randint(0, 3)):
            demo.act(someone(activity, exclude=author), "share", at + timedelta(hours=rng.uniform(1, 200)), content=post)
        for _ in range(rng.randint(0, 2)):
            commenter = someone(activity, exclude=author)
            demo.act(commenter, "comment", at + timedelta(hours=rng.uniform(1, 100)), content=post,
                     text=text_for(commenter, topic))

    # Follows: towards popular members (power law), a few unfollows later.
    follows: set[tuple[int, int]] = set()
    for _ in range(members * 4):
        follower = someone(activity)
        followee = someone(popularity, exclude=follower)
        if (follower, followee) in follows:
            continue
        follows.add((follower, followee))
        at = demo.when(max(joined(follower), joined(followee)))
        demo.act(follower, "follow", at, target=followee)
        if rng.random() < 0.05:
            demo.act(follower, "unfollow", at + timedelta(days=rng.uniform(1, 20)), target=followee)

    # Polls with ratings (explicit sentiment), answered by a slice of the community.
    for p in range(12):
        topic = rng.choice(TOPICS)
        at = now - timedelta(days=rng.uniform(5, DAYS - 5))
        host = someone(popularity)
        title = POLLS[p % len(POLLS)].format(t=topic.replace("-", " "))
        poll = demo.content(host, "poll", topic, title, at)
        nps = "recommend" in title
        for responder in rng.sample(list(ids), k=min(members, rng.randint(25, 70))):
            if responder == host:
                continue
            tone = demo.members[responder]["tone"]
            base = {"positive": 4.3, "neutral": 3.2, "negative": 1.8}[tone]
            rating = max(1, min(5, round(rng.gauss(base, 0.8))))
            metadata = {"poll": title, "nps": max(0, min(10, rating * 2 + rng.randint(-1, 0)))} if nps else \
                {"poll": title, "rating": rating, "scale": 5}
            demo.act(responder, "poll_response", at + timedelta(hours=rng.uniform(0.2, 96)), content=poll,
                     metadata=metadata)

    # Logins: active members log in on many days; a few unsubscribe.
    for m in ids:
        for _ in range(min(60, int(activity[m] * 4))):
            demo.act(m, "login", demo.when(joined(m)))
    for m in rng.sample(list(ids), k=max(1, members // 40)):
        demo.act(m, "unsubscribe", demo.when(joined(m)))

    demo.actions = [a for a in demo.actions if a["at"] <= now - timedelta(minutes=1)]
    demo.actions.sort(key=lambda a: (a["at"], a["id"]))
    return demo


def demo_events(demo: Demo) -> list[EventIn]:
    """The demo's actions as the engine's events, in time order. A content is described in full wherever an event
    names it (its creating action may fall after `now` and be left out)."""

    def content_in(c: int) -> ContentIn:
        content = demo.contents[c]
        return ContentIn(external_id=content["id"], topic=content["topic"], kind=content["kind"],
                         title=content["title"], author_external_id=demo.members[content["author"]]["id"])

    def member_in(m: int | None) -> MemberIn | None:
        return None if m is None else MemberIn(external_id=demo.members[m]["id"])

    return [
        EventIn(source=SOURCE, event_id=a["id"], type=a["type"], occurred_at=a["at"], member=member_in(a["member"]),
                target_member=member_in(a["target"]),
                target_content=content_in(a["content"]) if a["content"] is not None else None,
                content=content_in(a["made"]) if a["made"] is not None else None,
                text=a["text"], metadata=a["metadata"])
        for a in demo.actions
    ]


def demo_load(*, members: int = 300, seed: int = 7, now: datetime | None = None) -> dict[str, int]:
    """Insert the demo community (existing demo rows are kept; only missing ones are added). Returns counts added."""
    now = now or timezone.now()
    demo = generate(members=members, seed=seed, now=now)
    before = {m: m.objects.filter(source=SOURCE).count() for m in (Member, Content, Action)}
    # The members first, with their join dates (an event has no room for one) and whether they act or not: a member
    # is not an action. Their actions, and the contents those create, go through the door.
    Member.objects.bulk_create([
        Member(source=SOURCE, external_id=m["id"], email=m["email"], display_name=m["name"], persona=m["persona"],
               attributes=m["attributes"], joined_at=m["joined"])
        for m in demo.members
    ], ignore_conflicts=True, batch_size=1000)
    events = demo_events(demo)
    for start in range(0, len(events), MAX_BATCH):
        for result in actions_ingest(events=events[start:start + MAX_BATCH]):
            if result.status == REJECTED:
                raise CommandError(f"demo event {result.event_id} was refused: {result.errors}")
    return {m.__name__.lower() + "s": m.objects.filter(source=SOURCE).count() - n for m, n in before.items()}


class Command(BaseCommand):
    help = "Load a seeded demo community (~300 members, ~20k actions over 120 days) and compute interest."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--skip-scores", action="store_true",
                            help="Only insert (each batch is scored as ingest is configured to score); no full "
                                 "recompute of interest, no snapshot backfill.")

    def handle(self, *args, members: int, seed: int, skip_scores: bool, **options):
        started = time.monotonic()
        added = demo_load(members=members, seed=seed)
        self.stdout.write(f"Demo community: added {added['members']} members, {added['contents']} contents, "
                          f"{added['actions']} actions (source {SOURCE!r}; re-running adds nothing).")
        if not skip_scores and any(added.values()):
            result = interest_recompute()
            backfilled = interest_snapshots_backfill(days=DAYS)
            today = interest_snapshot_take()
            self.stdout.write(f"Interest: {result.members} members, {result.actions} actions, "
                              f"{result.stage_changes} stage changes; {backfilled + today} daily snapshots.")
        self.stdout.write(f"Done in {time.monotonic() - started:.1f} s.")
