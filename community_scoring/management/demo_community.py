"""A demo community's six-month history, generated day by day as plain data (no database): who joined when, and
what each member did on each day.

The community launches on day 0 with a founding group; the rest join over the following months, faster as it
grows. Each member has a habit: most are lurkers who drop by now and then to read, some are casual visitors who
vote and ask, fewer are regulars, and a few experts answer most questions. Some visitors drift away and stop
coming (their interest decays, their stage drops). On a visit a member logs in, reads recent questions and posts
(the popular authors' more), votes, asks, answers open questions in their topics, comments, accepts an answer to
their own question, follows members they find helpful, shares, blogs and answers the polls that are open.

A few members are planted so the influence leaderboards have something clear to show: advocates (widely followed
experts whose texts are warm) and detractors (widely followed, prolific, and clearly negative). Their texts come
from fixed pools that VADER scores as their tone says (tests check every sentence of the pools).

Everything is drawn from one seeded random generator, so the same seed, size and launch date give the same
history, with the same ids: members m0.., contents c0.., events a0.. in the order they happen.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

TOPICS = [
    "python-sdk", "javascript-sdk", "rest-api", "graphql", "webhooks", "authentication", "sso", "permissions",
    "billing", "pricing", "onboarding", "data-import", "data-export", "integrations", "salesforce-sync",
    "hubspot-sync", "analytics", "dashboards", "reporting", "segmentation", "email-campaigns", "landing-pages",
    "seo", "ab-testing", "mobile-sdk", "performance", "audit-logs", "compliance", "self-hosting", "kubernetes",
    "ci-cd", "observability", "machine-learning", "forecasting", "search", "localization", "accessibility",
    "roadmap", "feature-requests", "community-events",
]

PERSONAS = {
    # persona: (share, job titles, favourite topics)
    "developer": (0.42, ["Software Engineer", "Senior Software Engineer", "Backend Developer", "Staff Engineer",
                         "Frontend Developer", "DevOps Engineer", "CTO"],
                  ["python-sdk", "javascript-sdk", "rest-api", "graphql", "webhooks", "authentication", "sso",
                   "mobile-sdk", "performance", "audit-logs", "self-hosting", "kubernetes", "ci-cd", "observability"]),
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
WRITERS = ("developer", "marketer", "data-scientist")  # personas who blog
COMPANY_SIZES = [5, 12, 30, 60, 120, 250, 500, 1200, 5000, 20000]
COMPANY_SIZE_WEIGHTS = [3, 5, 6, 8, 9, 12, 13, 12, 10, 8]  # a B2B product: more members from larger companies
INDUSTRIES = ["software", "saas", "fintech", "retail", "healthcare", "education", "manufacturing", "media"]
INDUSTRY_WEIGHTS = [5, 5, 3, 2, 2, 2, 2, 2]
FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars", "Maya",
         "Nikhil", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
         "Amara", "Bruno", "Carmen", "Dmitri", "Esther", "Felix", "Greta", "Hassan", "Ingrid", "Jamal", "Keiko",
         "Leon", "Mira", "Noah"]
LAST = ["Okafor", "Lindqvist", "Tanaka", "Moreau", "Silva", "Novak", "Haddad", "Kowalski", "Nguyen", "Schmidt",
        "Rossi", "Patel", "Murphy", "Kim", "Fischer", "Garcia", "Ivanova", "Mensah", "Costa", "Berg", "Dubois",
        "Yilmaz", "Andersen", "Ferreira", "Sato", "Walsh", "Horvat", "Khan", "Laine", "Ortiz"]

# Habits, by how often a member visits (visits per day, a log-normal spread): below each bound, that habit.
HABITS = [("lurker", 0.05), ("casual", 0.12), ("regular", 0.25), ("expert", 1.0)]
VISITS_MEDIAN, VISITS_SPREAD, VISITS_MAX = 0.07, 0.8, 0.3
# Habits that may drift away partway through (lurkers never really arrived), and how likely.
CHURNING = {"casual": 0.3, "regular": 0.25}
FOUNDERS = 0.2  # share of members who join in the launch week

QUESTIONS = [
    "How do I configure {t} for a multi-tenant setup?", "Best way to debug {t} timeouts in production?",
    "Is there an example of {t} with pagination?", "Why does {t} return 403 after token refresh?",
    "Can {t} handle 10k events per minute?", "Migrating our {t} setup from the old version: any gotchas?",
    "What is the recommended {t} workflow for a small team?", "{t}: how do you test this locally?",
    "Where do I find the {t} limits?", "Does {t} support sandbox accounts?",
    "How are you monitoring {t} in production?", "Any way to retry failed {t} calls automatically?",
]
# Questions the detractors ask: complaints more than questions.
COMPLAINTS = [
    "Why is {t} still broken after the last release?", "Is anyone else fed up with {t} failing every week?",
    "{t} lost our data again: is this a known bug?", "Why is {t} so slow and painful to use?",
    "Terrible {t} documentation: where is the real reference?", "{t} keeps crashing, what a mess: any fix?",
]
# Every sentence of a pool scores, on its own, as its tone says (VADER compound >= 0.3, <= -0.3, or near 0).
POSITIVE = [
    "Thanks, this worked perfectly!", "Great explanation of {t}, really clear.",
    "Brilliant answer, it saved me hours.", "Really appreciate you taking the time to write this up.",
    "This is exactly what I needed, the {t} example is super helpful.", "Love this approach, clean and easy to follow.",
    "Works great for us too, thanks for sharing!", "Excellent write-up, the {t} docs should link to this.",
    "Helpful and well explained, nice work!", "Great tip, our {t} setup is much faster now.",
    "Happy to help, glad it is working for you now.", "We love how simple {t} has become, awesome job.",
    "Fantastic community, I learn something useful here every week.", "Perfect, that solved it. Thank you!",
]
NEUTRAL = [
    "We use a similar {t} configuration, with a retry queue in front.", "Did you check the {t} settings page?",
    "Following this thread.", "Which version are you on? The {t} behaviour changed in 3.2.",
    "You can also set the timeout per request.", "Here is how we structured our {t} pipeline.",
    "The {t} reference lists the fields in the second table.", "We run this nightly from a cron job.",
    "It depends on how many accounts you sync.", "Try the verbose flag and post the log here.",
]
NEGATIVE = [
    "This is wrong and frankly useless, the {t} docs are terrible.", "Still broken. Honestly the worst {t} experience I have had.",
    "Awful workaround, it breaks everything else.", "Disappointing: {t} keeps failing and nobody seems to care.",
    "Bad advice, this caused an outage for us.", "I wasted two days on this and the error messages are useless.",
    "Please stop recommending this hack, it is a terrible idea.", "Same problem here, it is frustrating that this is still not fixed.",
    "Another release, another painful regression in {t}.", "The {t} support is awful, we are angry and seriously considering leaving.",
    "Ugly, fragile and slow. I hate maintaining this {t} mess.", "Horrible experience, the {t} sync failed again and lost data.",
]
# Replies others leave on a detractor's posts: mostly agreeing, sometimes pushing back.
REPLIES_TO_NEGATIVE = [
    "Same problem here, it is frustrating that this is still not fixed.", "Ugh, this bug hurts us too, terrible timing.",
    "Sadly we hit this as well and lost a day.", "Which version are you on? The {t} behaviour changed in 3.2.",
]
BLOG_TITLES = [
    "What we learned about {t}", "{t} in production: six lessons", "A practical guide to {t}",
    "How we cut our {t} costs in half", "Our {t} checklist", "Getting started with {t}",
]
POLLS = ["How satisfied are you with the {t} docs?", "Rate the new {t} release", "How likely are you to recommend {t}?"]


@dataclass
class DemoMember:
    external_id: str
    name: str
    email: str
    persona: str
    attributes: dict
    habit: str
    tone: str  # positive, neutral or negative
    topics: list[str]
    visits: float  # chance of a visit on a day while active
    writes: float  # chance a visit writes (asks, comments, blogs)
    answers: float  # chance a visit answers an open question
    popularity: float  # how much others read and follow this member
    joined_day: int
    leaves_day: int  # first day without visits (the history's length: stays)
    planted: str = ""  # "advocate", "detractor" or ""


@dataclass
class DemoContent:
    external_id: str
    author: int
    kind: str
    topic: str
    title: str
    day: int
    at: datetime
    answers: list[int] = field(default_factory=list)  # answer content indexes (questions)
    solved: bool = False


@dataclass
class DemoEvent:
    """One action, by index into the demo's members and contents. ``content``: what it acts on; ``made``: what it
    creates; ``target``: the member it names (a follow)."""

    external_id: str
    member: int
    type: str
    at: datetime
    content: int | None = None
    made: int | None = None
    target: int | None = None
    text: str = ""
    metadata: dict = field(default_factory=dict)


@dataclass
class DemoHistory:
    start: datetime  # the launch: UTC midnight starting day 0
    days: int
    members: list[DemoMember]
    contents: list[DemoContent]
    events_by_day: list[list[DemoEvent]]  # in time order within each day

    def day_start(self, day: int) -> datetime:
        return self.start + timedelta(days=day)

    @property
    def events(self) -> list[DemoEvent]:
        return [e for day in self.events_by_day for e in day]


def _roster(rng: random.Random, members: int, days: int) -> list[DemoMember]:
    personas = list(PERSONAS)
    weights = [PERSONAS[p][0] for p in personas]
    names = [f"{first} {last}" for first in FIRST for last in LAST]
    rng.shuffle(names)
    roster = []
    for i in range(members):
        persona = rng.choices(personas, weights)[0]
        _, titles, favourites = PERSONAS[persona]
        name = names[i] if i < len(names) else f"{names[i % len(names)]} {i // len(names) + 1}"
        visits = min(VISITS_MAX, VISITS_MEDIAN * math.exp(rng.gauss(0.0, VISITS_SPREAD)))
        habit = next(name for name, below in HABITS if visits < below)
        if i == 0:
            joined = 0  # the host opens the community
        elif rng.random() < FOUNDERS:
            joined = rng.randrange(min(7, days))
        else:  # growth: more members join as the community gets known
            joined = min(days - 1, int(days * rng.random() ** 0.8))
        leaves = days
        if rng.random() < CHURNING.get(habit, 0.0) and days - joined > 20:
            leaves = rng.randrange(joined + 10, days)
        popularity = rng.paretovariate(1.6) * {"lurker": 0.3, "casual": 0.7, "regular": 1.5, "expert": 3.0}[habit]
        roster.append(DemoMember(
            external_id=f"m{i}", name=name,
            email=f"{name.split()[0]}.{name.split()[-1]}.{i}@example.com".lower(), persona=persona,
            attributes={"job_title": rng.choice(titles),
                        "company_size": rng.choices(COMPANY_SIZES, COMPANY_SIZE_WEIGHTS)[0],
                        "industry": rng.choices(INDUSTRIES, INDUSTRY_WEIGHTS)[0]},
            habit=habit, tone=rng.choices(["positive", "neutral", "negative"], [0.35, 0.55, 0.10])[0],
            topics=rng.sample(favourites, k=min(len(favourites), rng.randint(2, 5))),
            visits=visits, writes=min(0.35, 0.02 + visits), answers=0.0 if habit == "lurker" else min(0.6, 2.0 * visits),
            popularity=popularity,
            joined_day=joined, leaves_day=leaves,
        ))
    _plant(rng, roster, days)
    return roster


def _plant(rng: random.Random, roster: list[DemoMember], days: int) -> None:
    """Make a few early, widely followed experts advocates (warm) and a few detractors (prolific, negative)."""
    count = len(roster)
    advocates, detractors = max(1, round(count / 75)), max(1, round(count / 100))
    # Founding members other than m0 (the community's host), in a seeded order.
    candidates = [i for i in range(1, count)]
    rng.shuffle(candidates)
    for n, i in enumerate(candidates[:advocates + detractors]):
        member = roster[i]
        member.planted = "advocate" if n < advocates else "detractor"
        member.habit, member.tone = "expert", "positive" if n < advocates else "negative"
        member.visits = rng.uniform(0.28, 0.38)
        member.writes, member.answers = (0.3, 0.8) if member.planted == "advocate" else (0.5, 0.6)
        member.popularity = rng.uniform(9.0, 12.0)
        member.joined_day, member.leaves_day = rng.randrange(min(7, days)), days


class _Day:
    """One day's events as its visits emit them (put in time order once the day is done), and the contents they
    create."""

    def __init__(self, day: int, contents: list[DemoContent]) -> None:
        self.day, self.contents = day, contents
        self.events: list[tuple[datetime, int, DemoEvent]] = []  # (time, emission order, event)

    def emit(self, member: int, action_type: str, at: datetime, **kwargs) -> DemoEvent:
        event = DemoEvent(external_id="", member=member, type=action_type, at=at, **kwargs)
        self.events.append((at, len(self.events), event))
        return event

    def content(self, author: int, kind: str, topic: str, title: str, at: datetime) -> int:
        self.contents.append(DemoContent(external_id=f"c{len(self.contents)}", author=author, kind=kind, topic=topic,
                                         title=title[:300], day=self.day, at=at))
        return len(self.contents) - 1


def generate(*, members: int, seed: int, start: datetime, days: int) -> DemoHistory:
    """The whole history: ``days`` days from ``start`` (a UTC midnight) for ``members`` members."""
    rng = random.Random(seed)
    roster = _roster(rng, members, days)
    contents: list[DemoContent] = []
    events_by_day: list[list[DemoEvent]] = []
    follows: dict[tuple[int, int], int] = {}  # (follower, followee) -> day
    responded: set[tuple[int, int]] = set()  # (member, poll)
    polls: list[int] = []
    counter = 0

    def topic_of(m: int) -> str:
        return rng.choice(roster[m].topics) if rng.random() < 0.8 else rng.choice(TOPICS)

    def sentence(pool: list[str], topic: str) -> str:
        return rng.choice(pool).format(t=topic.replace("-", " "))

    def text_of(m: int, topic: str, *, sentences: int = 1) -> str:
        tone = roster[m].tone
        parts = []
        for _ in range(sentences):
            mood = tone
            if roster[m].planted == "":  # ordinary members are mixed; planted ones are consistent
                if tone == "positive" and rng.random() < 0.5 or tone == "negative" and rng.random() < 0.4:
                    mood = "neutral"
                elif tone == "neutral" and rng.random() < 0.2:
                    mood = "positive"
            elif roster[m].planted == "detractor" and rng.random() < 0.1:
                mood = "neutral"
            parts.append(sentence({"positive": POSITIVE, "neutral": NEUTRAL, "negative": NEGATIVE}[mood], topic))
        return " ".join(parts)

    for day in range(days):
        day_start = start + timedelta(days=day)
        today = _Day(day, contents)
        emit, new_content = today.emit, today.content

        # Polls: one opens every three weeks or so, run by the host (m0) or a founding expert.
        if day % 20 == 5:
            host = 0
            topic = rng.choice(TOPICS)
            at = day_start + timedelta(hours=9)
            title = POLLS[len(polls) % len(POLLS)].format(t=topic.replace("-", " "))
            polls.append(new_content(host, "poll", topic, title, at))
        open_polls = [p for p in polls if day - contents[p].day < 10]

        # Recent contents to read (questions and posts of the last three weeks), weighted by recency and author.
        recent = [c for c in range(len(contents)) if contents[c].kind in ("question", "blog_post")
                  and day - contents[c].day < 21]
        recent_weights = [(roster[contents[c].author].popularity + 0.5) * (3.0 if contents[c].kind == "blog_post" else 1.0)
                          * 0.85 ** (day - contents[c].day) for c in recent]
        open_questions = [c for c in recent if contents[c].kind == "question" and day - contents[c].day <= 3
                          and len(contents[c].answers) < 4]
        followable = [m for m in range(len(roster)) if roster[m].joined_day < day]
        follow_weights = [roster[m].popularity for m in followable]

        visitors = []
        for m, member in enumerate(roster):
            if day == member.joined_day:
                visitors.append(m)
            elif member.joined_day < day < member.leaves_day:
                # Weekends are quieter.
                rate = member.visits * (0.5 if (day_start.weekday() >= 5) else 1.0)
                if rng.random() < rate:
                    visitors.append(m)
        for m in visitors:
            member = roster[m]
            at = day_start + timedelta(hours=min(23.0, max(0.2, rng.gauss(14, 4))))
            def step() -> timedelta:  # the pace of a visit
                return timedelta(minutes=rng.uniform(1, 12))

            if day == member.joined_day:
                emit(m, "signup", at, metadata={"channel": rng.choice(["organic", "invite", "event", "search"])})
                at += step()
            emit(m, "login", at)
            # Read what is new, popular authors first; vote, comment and share on some of it.
            reads = min(len(recent), 1 + int(rng.expovariate(0.6)))
            seen = set()
            for c in rng.choices(recent, recent_weights, k=reads) if recent else []:
                if c in seen or contents[c].author == m:
                    continue
                seen.add(c)
                at += step()
                emit(m, "read", at, content=c)
                author = roster[contents[c].author]
                answers = [a for a in contents[c].answers if contents[a].at < at]  # those written by now
                if rng.random() < 0.15 + member.writes * 0.3:
                    negative = author.tone == "negative" and rng.random() < 0.35
                    target = c
                    if answers and rng.random() < 0.6:
                        target = rng.choice(answers)
                        negative = roster[contents[target].author].tone == "negative" and rng.random() < 0.35
                    if contents[target].author != m:
                        at += step()
                        emit(m, "vote_down" if negative else "vote_up", at, content=target)
                if rng.random() < member.writes * 0.25:
                    target = rng.choice(answers) if answers and rng.random() < 0.5 else c
                    if contents[target].author != m:
                        at += step()
                        topic = contents[target].topic
                        text = (sentence(REPLIES_TO_NEGATIVE, topic) if roster[contents[target].author].planted
                                == "detractor" and rng.random() < 0.6 else text_of(m, topic))
                        comment = new_content(m, "comment", topic, "comment", at)
                        emit(m, "comment", at, content=target, made=comment, text=text)
                if rng.random() < 0.02 + member.writes * 0.04:
                    at += step()
                    emit(m, "share", at, content=c)
            # Answer open questions in one's topics (one a visit: answering takes time).
            answered = 0
            for c in open_questions:
                question = contents[c]
                if answered == 1:
                    break
                if question.author == m or any(contents[a].author == m for a in question.answers):
                    continue
                match = 1.0 if question.topic in member.topics else 0.25
                if rng.random() < member.answers * match * 0.5:
                    at += step() + step()
                    answer = new_content(m, "answer", question.topic, f"Re: {question.title}", at)
                    question.answers.append(answer)
                    answered += 1
                    emit(m, "answer", at, content=c, made=answer,
                         text=text_of(m, question.topic, sentences=rng.randint(1, 2)))
            # Accept the best answer to one's own question.
            for c in [c for c in recent if contents[c].author == m and contents[c].kind == "question"
                      and not contents[c].solved]:
                answers = [a for a in contents[c].answers if contents[a].at < at]
                if answers and rng.random() < 0.45:
                    best = max(answers, key=lambda a: roster[contents[a].author].popularity * rng.random())
                    contents[c].solved = True
                    at += step()
                    emit(m, "solved", at, content=best)
            # Ask, or blog.
            if rng.random() < member.writes * 0.6:
                topic = topic_of(m)
                pool = COMPLAINTS if member.planted == "detractor" else QUESTIONS
                title = sentence(pool, topic)
                at += step()
                question = new_content(m, "question", topic, title, at)
                emit(m, "question", at, made=question, text=title)
            if member.persona in WRITERS and rng.random() < member.writes * (0.12 if member.planted else 0.04):
                topic = topic_of(m)
                at += step() + step()
                post = new_content(m, "blog_post", topic, sentence(BLOG_TITLES, topic), at)
                emit(m, "blog_post", at, made=post, text=text_of(m, topic, sentences=3))
            # Follow members one finds helpful (newcomers look around more).
            if followable and rng.random() < (0.5 if day - member.joined_day < 3 else 0.05):
                for other in rng.choices(followable, follow_weights, k=rng.randint(1, 3)):
                    if other != m and (m, other) not in follows:
                        follows[(m, other)] = day
                        at += step()
                        emit(m, "follow", at, target=other)
            # Open polls.
            for p in open_polls:
                if (m, p) not in responded and contents[p].at < at and rng.random() < 0.5:
                    responded.add((m, p))
                    base = {"positive": 4.3, "neutral": 3.3, "negative": 1.7}[member.tone]
                    rating = max(1, min(5, round(rng.gauss(base, 0.7))))
                    title = contents[p].title
                    metadata = ({"poll": title, "nps": max(0, min(10, rating * 2 + rng.randint(-1, 0)))}
                                if "recommend" in title else {"poll": title, "rating": rating, "scale": 5})
                    at += step()
                    emit(m, "poll_response", at, content=p, metadata=metadata)
            # Drifting away: a few say so.
            if day == member.leaves_day - 1 and rng.random() < 0.3:
                at += step()
                emit(m, "unsubscribe", at)
        # A rare unfollow of someone followed a while ago.
        older = sorted(pair for pair, since in follows.items() if since < day)
        if older and rng.random() < 0.15:
            follower, followee = rng.choice(older)
            del follows[(follower, followee)]
            emit(follower, "unfollow", day_start + timedelta(hours=rng.uniform(8, 20)), target=followee)

        # In time order, within the day (a visit that ran past midnight ends at 23:59).
        last = day_start + timedelta(days=1, minutes=-1)
        ordered = []
        for at, _, event in sorted(today.events, key=lambda item: (min(item[0], last), item[1])):
            event.at = min(at, last)
            event.external_id = f"a{counter}"
            counter += 1
            ordered.append(event)
        events_by_day.append(ordered)
    return DemoHistory(start=start, days=days, members=roster, contents=contents, events_by_day=events_by_day)
