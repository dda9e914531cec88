"""Recording outcomes: the one door for the API, the CSV upload and the admin.

Each outcome is checked on its own (a bad one is rejected with errors by field; the others are still stored),
its member resolved, and stored once per ``(source, outcome_id)``: the same outcome sent again, in the same batch
or concurrently, is a duplicate (the unique constraint decides; nothing is counted twice). A new outcome of a
sales type re-derives its member's sales stage (outcomes.services.sales_stages) in the same transaction.

The member, from the keys given, first that names one person:
- ``external_id``: the identity (source, external_id) within the outcome's ``source``;
- ``crm_id``: identities with that crm_id, on any source;
- ``email``: identities with that email (case-insensitive), on any source; verified ones when any are.
An identity merged into another member resolves to that member (the person), and the outcome records the
identity it named (Outcome.identity), so an unmerge gives it back. Keys naming several people are an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils import timezone

from community_scoring.models import Member
from community_scoring.moments import moment_parse
from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.sales_stages import sales_stages_refresh
from community_scoring.scoring.sales_stages import SALES_TYPES
from community_scoring.services.events import (
    CREATED, DUPLICATE, EARLIEST, FUTURE_TOLERANCE, MAX_BATCH, REJECTED, text_error,
)

__all__ = ["CREATED", "DUPLICATE", "MAX_BATCH", "REJECTED", "OutcomeIn", "OutcomeMemberIn", "OutcomeResult",
           "outcome_check", "outcomes_delete", "outcomes_record"]

MEMBER_KEYS = ("external_id", "email", "crm_id")
REASON_MAX = 2000  # characters of a reason
AMOUNT_MAX = Decimal("1e12")  # the column holds 14 digits, 2 of them decimals
_LIMITS = {"source": 64, "outcome_id": 191, "external_id": 191, "email": 254, "crm_id": 191, "value": 191}


@dataclass
class OutcomeMemberIn:
    """Who the outcome is about, by any of the keys (None: not given). ``member_id`` is for the admin only."""

    external_id: Any = None
    email: Any = None
    crm_id: Any = None
    member_id: int | None = None


@dataclass
class OutcomeIn:
    """One outcome as sent, before checking: any value may be of the wrong type (the checks say which)."""

    source: Any
    outcome_id: Any
    type: Any
    occurred_at: Any  # an aware datetime, or ISO 8601 text
    member: OutcomeMemberIn | None
    reason: Any = ""
    value: Any = ""


@dataclass
class OutcomeResult:
    outcome_id: str | None
    status: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    outcome: Outcome | None = None  # the stored outcome (created or the duplicate's original)


@dataclass
class _Checked:
    """An outcome that passed the checks: the values to store."""

    source: str
    outcome_id: str
    type: str
    occurred_at: datetime
    member: OutcomeMemberIn
    reason: str
    value: str
    amount: Decimal | None


def _id_text(value: Any) -> str | None:
    """Ids may be strings or integers (as event ids)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _timestamp(value: Any, now: datetime) -> tuple[datetime | None, str | None]:
    if value is None or value == "":
        return None, "required"
    if isinstance(value, str):
        try:
            value = moment_parse(value.strip())
        except ValueError:
            return None, f"bad timestamp {value[:40]!r}: expected ISO 8601, e.g. 2026-11-20T10:00:00Z"
    if not isinstance(value, datetime):
        return None, "must be an ISO 8601 timestamp string"
    if timezone.is_naive(value):
        return None, "must include a timezone"
    if value > now + FUTURE_TOLERANCE:
        return None, "is in the future"
    if value < EARLIEST:
        return None, "is before 1970"
    return value, None


def _value(value: Any) -> tuple[str, Decimal | None, str | None]:
    """(value as text, the amount when it is a number, error): a custom conversion's name or an amount."""
    if value is None or value == "":
        return "", None, None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return "", None, "must be a conversion name or an amount"
    if isinstance(value, float) and not math.isfinite(value):
        return "", None, "must be a finite amount"
    text = value.strip() if isinstance(value, str) else str(value)
    error = text_error(text, _LIMITS["value"])
    if error:
        return "", None, error
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return text, None, None  # a name (trial, purchase, ...)
    if not amount.is_finite():
        return text, None, None  # "NaN", "Infinity": names, not amounts
    if abs(amount) >= AMOUNT_MAX:
        return "", None, f"amount out of range: below {AMOUNT_MAX:,.0f} in absolute value"
    return text, amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), None


def _checked(outcome: OutcomeIn, now: datetime) -> tuple[_Checked | None, dict[str, list[str]]]:
    """The outcome's values to store, or its errors by field (nested fields dotted)."""
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in ("source", "outcome_id"):
        raw = getattr(outcome, name)
        text = _id_text(raw) if name == "outcome_id" else (raw.strip() if isinstance(raw, str) else None)
        if raw is None or text == "":
            errors[name] = ["required"]
        elif text is None:
            errors[name] = ["must be a string" + (" or an integer" if name == "outcome_id" else "")]
        elif msg := text_error(text, _LIMITS[name]):
            errors[name] = [msg]
        else:
            values[name] = text
    kind = outcome.type.strip() if isinstance(outcome.type, str) else outcome.type
    if kind is None or kind == "":
        errors["type"] = ["required"]
    elif not isinstance(kind, str) or kind not in Outcome.Type.values:
        shown = repr(kind[:40]) if isinstance(kind, str) else "this value"
        errors["type"] = [f"unknown outcome type {shown}: use one of {', '.join(Outcome.Type.values)}"]
    at, msg = _timestamp(outcome.occurred_at, now)
    if msg:
        errors["occurred_at"] = [msg]
    member = outcome.member
    if member is None:
        errors["member"] = ["required: an object with external_id, email or crm_id"]
    else:
        keys = {}
        for name in MEMBER_KEYS:
            raw = getattr(member, name)
            text = _id_text(raw) if name == "external_id" else (raw.strip() if isinstance(raw, str) else None)
            if raw is None or text == "":
                continue
            if text is None:
                errors[f"member.{name}"] = ["must be a string"]
            elif msg := text_error(text, _LIMITS[name]):
                errors[f"member.{name}"] = [msg]
            else:
                keys[name] = text
        if not keys and member.member_id is None and not any(f"member.{n}" in errors for n in MEMBER_KEYS):
            errors["member"] = ["give external_id (resolved within source), email or crm_id"]
        member = OutcomeMemberIn(**keys, member_id=member.member_id)
    reason = outcome.reason if outcome.reason is not None else ""
    if msg := text_error(reason, REASON_MAX):
        errors["reason"] = [msg]
    value, amount, msg = _value(outcome.value)
    if msg:
        errors["value"] = [msg]
    if errors:
        return None, errors
    return _Checked(values["source"], values["outcome_id"], kind, at, member, reason.strip(), value, amount), {}


def _person_of(rows: list[tuple[int, int | None, bool]], *, prefer_verified: bool) -> tuple[set[int], int | None]:
    """The people (pk or merged_into) that (pk, merged_into, verified) identity rows name, and the identity to
    record: the one merged identity named when the person's own identity is not among them."""
    if prefer_verified and any(verified for *_, verified in rows):
        rows = [row for row in rows if row[2]]
    people = {merged or pk for pk, merged, _ in rows}
    if len(people) != 1:
        return people, None
    named = {pk for pk, merged, _ in rows}
    person = next(iter(people))
    identity = next(iter(named)) if person not in named and len(named) == 1 else None
    return people, identity


@dataclass
class _Identities:
    """The identity rows (pk, merged_into, email_verified) the outcomes' member keys name, read in a few queries."""

    by_external_id: dict[tuple[str, str], list] = field(default_factory=dict)
    by_crm_id: dict[str, list] = field(default_factory=dict)
    by_email: dict[str, list] = field(default_factory=dict)
    by_pk: dict[int, list] = field(default_factory=dict)

    @classmethod
    def load(cls, checked: list[_Checked]) -> _Identities:
        found = cls()
        fields = ("pk", "merged_into_id", "email_verified")
        external = {(c.source, c.member.external_id) for c in checked if c.member.external_id}
        if external:
            rows = Member.objects.filter(external_id__in={e for _, e in external},
                                         source__in={s for s, _ in external})
            for *row, source, external_id in rows.values_list(*fields, "source", "external_id"):
                found.by_external_id.setdefault((source, external_id), []).append(tuple(row))
        crm_ids = {c.member.crm_id for c in checked if c.member.crm_id}
        if crm_ids:
            for *row, crm_id in Member.objects.filter(crm_id__in=crm_ids).values_list(*fields, "crm_id"):
                found.by_crm_id.setdefault(crm_id, []).append(tuple(row))
        emails = {c.member.email.upper() for c in checked if c.member.email}
        if emails:
            rows = Member.objects.annotate(email_upper=Upper("email")).filter(email_upper__in=emails)
            for *row, email in rows.values_list(*fields, "email_upper"):
                found.by_email.setdefault(email, []).append(tuple(row))
        pks = {c.member.member_id for c in checked if c.member.member_id is not None}
        if pks:
            for row in Member.objects.filter(pk__in=pks).values_list(*fields):
                found.by_pk[row[0]] = [row]
        return found

    def resolve(self, source: str, member: OutcomeMemberIn) -> tuple[tuple[int, int | None] | None, dict]:
        """(person id, identity id to record or None), or the error naming the key at fault (see the module
        docstring for the order of the keys)."""
        if member.member_id is not None:
            rows = self.by_pk.get(member.member_id)
            if not rows:
                return None, {"member": [f"no member with id {member.member_id}"]}
            pk, merged, _ = rows[0]
            return (merged or pk, pk if merged else None), {}
        tried = []
        for name in ("external_id", "crm_id", "email"):
            key = getattr(member, name)
            if not key:
                continue
            if name == "external_id":
                rows = self.by_external_id.get((source, key), [])
                tried.append(f"external_id {key!r} in source {source!r}")
            elif name == "crm_id":
                rows = self.by_crm_id.get(key, [])
                tried.append(f"crm_id {key!r}")
            else:
                rows = self.by_email.get(key.upper(), [])
                tried.append("that email")
            people, identity = _person_of(rows, prefer_verified=name == "email")
            if len(people) == 1:
                return (next(iter(people)), identity), {}
            if len(people) > 1:
                return None, {f"member.{name}": ["matches several members; send external_id or crm_id"]}
        return None, {"member": [f"no member with {' or '.join(tried)}"]}


def _result_id(outcome: OutcomeIn) -> str | None:
    text = _id_text(outcome.outcome_id)
    return text[:_LIMITS["outcome_id"]] if text else None


def _stored(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Outcome]:
    """The outcomes already stored under these keys: a cheap answer for repeats (the constraint is the guarantee)."""
    if not keys:
        return {}
    rows = Outcome.objects.filter(source__in={s for s, _ in keys}, outcome_id__in={o for _, o in keys})
    return {(o.source, o.outcome_id): o for o in rows if (o.source, o.outcome_id) in keys}


def outcome_check(*, outcome: OutcomeIn, now: datetime | None = None) -> dict[str, list[str]]:
    """The errors that would reject this outcome (nothing written); {} when it would be stored or is a duplicate.
    For forms that show errors before saving (the admin)."""
    checked, errors = _checked(outcome, now or timezone.now())
    if checked is None:
        return errors
    if _stored({(checked.source, checked.outcome_id)}):
        return {}
    return _Identities.load([checked]).resolve(checked.source, checked.member)[1]


def outcomes_record(*, outcomes: list[OutcomeIn], recorded_by: str = "",
                    now: datetime | None = None) -> list[OutcomeResult]:
    """Record outcomes; one result per outcome, in input order. A bad outcome is rejected alone; the new ones
    are stored, and the sales stages they move re-derived, in one transaction (as if applied one by one in
    input order: each move is in the stage history)."""
    now = now or timezone.now()
    results: list[OutcomeResult | None] = [None] * len(outcomes)
    checked: dict[int, _Checked] = {}
    for i, outcome in enumerate(outcomes):
        item, errors = _checked(outcome, now)
        if item is None:
            results[i] = OutcomeResult(_result_id(outcome), REJECTED, errors)
        else:
            checked[i] = item
    stored = _stored({(c.source, c.outcome_id) for c in checked.values()})
    identities = _Identities.load([c for c in checked.values() if (c.source, c.outcome_id) not in stored])
    new: dict[tuple[str, str], Outcome] = {}  # first occurrence of each key in this batch, to insert
    firsts: dict[int, tuple[str, str]] = {}
    for i, item in checked.items():
        key = (item.source, item.outcome_id)
        if key in stored or key in new:
            results[i] = OutcomeResult(item.outcome_id, DUPLICATE)
            continue
        resolved, errors = identities.resolve(item.source, item.member)
        if resolved is None:
            results[i] = OutcomeResult(item.outcome_id, REJECTED, errors)
            continue
        new[key] = Outcome(
            source=item.source, outcome_id=item.outcome_id, type=item.type, occurred_at=item.occurred_at,
            member_id=resolved[0], identity_id=resolved[1], reason=item.reason, value=item.value,
            amount=item.amount, recorded_by=recorded_by[:150])
        firsts[i] = key
    with transaction.atomic():
        created = _insert(new)
        arrived = [new[firsts[i]] for i in sorted(firsts) if firsts[i] in created]
        moving = [o for o in arrived if o.type in SALES_TYPES]
        if moving:
            sales_stages_refresh(member_ids={o.member_id for o in moving}, arrivals=moving, now=now)
    stored.update(created)
    stored.update(_stored(set(new) - set(created)))  # stored meanwhile by another request: duplicates
    for i, item in checked.items():
        key = (item.source, item.outcome_id)
        if results[i] is None:
            results[i] = OutcomeResult(item.outcome_id, CREATED if key in created else DUPLICATE, outcome=stored[key])
        elif results[i].status == DUPLICATE:
            results[i].outcome = stored.get(key)
    return results


def _insert(new: dict[tuple[str, str], Outcome]) -> dict[tuple[str, str], Outcome]:
    """Insert the outcomes (in key order, so concurrent batches wait on each other one way); returns those this
    call stored. One statement; when another request stored some of them meanwhile (the unique constraint
    refuses it), each on its own, the ones already there left out."""
    ordered = [new[key] for key in sorted(new)]
    if not ordered:
        return {}
    try:
        with transaction.atomic():
            Outcome.objects.bulk_create(ordered)
        if all(o.pk is not None for o in ordered):
            return dict(new)
        return _stored(set(new))  # a database that does not return the ids of bulk inserts
    except IntegrityError:
        pass
    created = {}
    for key, outcome in zip(sorted(new), ordered):
        outcome.pk = None
        try:
            with transaction.atomic():
                outcome.save(force_insert=True)
        except IntegrityError:
            continue
        created[key] = outcome
    return created


def outcomes_delete(*, outcome_ids: list[int]) -> int:
    """Delete outcomes (an admin correcting a mistake) and re-derive their members' sales stages; returns how many."""
    with transaction.atomic():
        outcomes = Outcome.objects.filter(pk__in=list(outcome_ids))
        members = set(outcomes.values_list("member_id", flat=True))
        deleted, _ = outcomes.delete()
        sales_stages_refresh(member_ids=members, reason="outcome_deleted")
    return deleted
