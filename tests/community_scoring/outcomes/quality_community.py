"""A small community whose quality report is worked out by hand (tests of the service, the API and the pages).

Configuration: tests' interest_helpers config (question 5 points, comment 3, half-life 10 days; fit: job title
containing "engineer" +10, company size >= 200 +15; stages visitor, engaged >= 20, MQL >= 50 engagement and >= 20
fit). Every action falls on a UTC midnight, so each decays from its own moment: worth points * 2^(-days/10) at T.

END = 2026-06-01, within 30 days -> T = 2026-05-02; period 90 days -> START = 2026-03-03.

member  actions (days from T)        score at T            stage    outcomes                          label
A       20 questions at -10          100/2 + 25 = 75       MQL      sales_accepted +4, converted +5   yes
B       12 questions at 0            60 + 25 = 85          MQL      sales_accepted +8, won +10        yes
C       22 questions at -10          110/2 + 25 = 80       MQL      sales_rejected +3, and START-1    no
D       4 questions at -20           20/4 + 10 = 15        visitor  sql at END (included)             yes
E       1 question at -30            5/8 = 0.625           visitor  converted "trial" +1              yes
F       2 comments at -10            6/2 = 3               visitor  converted at END + 1 s (after)    no
L       2 questions at -10, sent by its merged identity K (source "crm")
                                     10/2 = 5              visitor  -                                 no
Left out: G (acts only at +1, 12 questions, MQL then; sql +2), H (converted exactly at T), I (staff; converted +1,
sales_rejected +2), N (only the system's inactivity entry before T; converted +1).

Personas: A "Developer", D "developer". MQL entries (stage transitions the door records): A and C at -10 (START +
50 days: week 7), B at 0 and G at +1 (START + 60, 61: week 8).
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import count

from community_scoring.models import Member
from community_scoring.outcomes.models import Outcome
from community_scoring.services.events import EventIn, MemberIn
from community_scoring.services.ingest import actions_ingest
from tests.community_scoring.services.interest_helpers import install_test_config
from tests.factories import ActionFactory, MemberFactory

END = datetime(2026, 6, 1, tzinfo=timezone.utc)
T = END - timedelta(days=30)
START = END - timedelta(days=90)
DAY = timedelta(days=1)
FULL_FIT = {"job_title": "Staff engineer", "company_size": 300}

_ids = count()


def outcome(member: Member, kind: str, at: datetime, *, value: str = "") -> Outcome:
    return Outcome.objects.create(source="crm", outcome_id=f"o-{next(_ids)}", type=kind, occurred_at=at,
                                  member=member, value=value)


def act(member: Member, kind: str, times: int, at: datetime) -> None:
    """``times`` actions at ``at``, through the door in one batch."""
    events = [EventIn(source=member.source, event_id=f"q-{next(_ids)}", type=kind, occurred_at=at,
                      member=MemberIn(external_id=member.external_id)) for _ in range(times)]
    assert {r.status for r in actions_ingest(events=events)} == {"created"}


@dataclass
class QualityCommunity:
    members: dict[str, Member]

    def __getitem__(self, name: str) -> Member:
        return self.members[name]


def quality_community_build() -> QualityCommunity:
    install_test_config()
    m = {
        "A": MemberFactory(persona="Developer", attributes=FULL_FIT, display_name="Ada A"),
        "B": MemberFactory(attributes=FULL_FIT, display_name="Ben B"),
        "C": MemberFactory(attributes=FULL_FIT, display_name="Cy C"),
        "D": MemberFactory(persona="developer", attributes={"job_title": "Data engineer"}, display_name="Di D"),
        "E": MemberFactory(display_name="Eve E"),
        "F": MemberFactory(display_name="Fay F"),
        "L": MemberFactory(display_name="Lou L"),
        "G": MemberFactory(attributes=FULL_FIT, display_name="Gus G"),
        "H": MemberFactory(display_name="Hal H"),
        "I": MemberFactory(is_excluded=True, display_name="Ivy Staff"),
        "N": MemberFactory(display_name="Ned N"),
    }
    m["K"] = MemberFactory(source="crm", display_name="Lou at work", merged_into=m["L"])
    act(m["A"], "question", 20, T - 10 * DAY)
    act(m["B"], "question", 12, T)
    act(m["C"], "question", 22, T - 10 * DAY)
    act(m["D"], "question", 4, T - 20 * DAY)
    act(m["E"], "question", 1, T - 30 * DAY)
    act(m["F"], "comment", 2, T - 10 * DAY)
    act(m["K"], "question", 2, T - 10 * DAY)
    act(m["G"], "question", 12, T + DAY)
    act(m["H"], "question", 1, T - 5 * DAY)
    act(m["I"], "question", 1, T - 5 * DAY)
    ActionFactory(member=m["N"], action_type_id="inactivity", occurred_at=T - 5 * DAY)

    outcome(m["A"], "sales_accepted", T + 4 * DAY)
    outcome(m["A"], "converted", T + 5 * DAY)
    outcome(m["B"], "sales_accepted", T + 8 * DAY)
    outcome(m["B"], "won", T + 10 * DAY)
    outcome(m["C"], "sales_rejected", T + 3 * DAY)
    outcome(m["C"], "sales_rejected", START - DAY)
    outcome(m["D"], "sql", END)
    outcome(m["E"], "converted", T + DAY, value="trial")
    outcome(m["F"], "converted", END + timedelta(seconds=1))
    outcome(m["G"], "sql", T + 2 * DAY)
    outcome(m["H"], "converted", T)
    outcome(m["I"], "converted", T + DAY)
    outcome(m["I"], "sales_rejected", T + 2 * DAY)
    outcome(m["N"], "converted", T + DAY)
    return QualityCommunity(m)
