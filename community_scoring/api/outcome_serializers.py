"""The outcomes contract (`POST /api/v1/outcomes/`): serializers describe it for the schema; `outcome_read` reads
one outcome of a body into the service's OutcomeIn, whose checks (outcomes.services.intake) are the rules."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from community_scoring.outcomes.models import Outcome
from community_scoring.outcomes.services.intake import MAX_BATCH, REASON_MAX, OutcomeIn, OutcomeMemberIn


class OutcomeMemberRefSerializer(serializers.Serializer):
    """Who the outcome is about: at least one key. The first that names one member is used, in this order."""

    external_id = serializers.CharField(required=False, max_length=191,
                                        help_text="The member's id on the outcome's `source` (resolved within it).")
    crm_id = serializers.CharField(required=False, max_length=191, help_text="The CRM's id, on any source.")
    email = serializers.CharField(required=False, max_length=254,
                                  help_text="Case-insensitive, on any source; verified emails preferred.")


class OutcomeSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=64, help_text="The system reporting it (crm, product, ...).")
    outcome_id = serializers.CharField(max_length=191, help_text="Unique per source: the idempotency key.")
    type = serializers.ChoiceField(choices=Outcome.Type.values, help_text=(
        "sales_accepted / sql -> sales stage SQL; opportunity -> opportunity; won -> customer; sales_rejected, "
        "lost, churned clear the sales stage (back to the score-driven stage, reason kept); converted: a custom "
        "conversion named by `value`."))
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a timezone; not in the future.")
    member = OutcomeMemberRefSerializer()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX,
                                   help_text="Why (a rejection's or a loss's reason).")
    value = serializers.CharField(required=False, allow_blank=True, max_length=191, help_text=(
        "A custom conversion's name (trial, demo_request, purchase, upgrade) or an amount (a number, also sent "
        "as a JSON number), stored as `amount` too."))


class OutcomeBatchSerializer(serializers.Serializer):
    outcomes = OutcomeSerializer(many=True, max_length=MAX_BATCH, allow_empty=False)


class OutcomeResultSerializer(serializers.Serializer):
    outcome_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "duplicate", "rejected"])
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Each offending field (dotted for member keys) mapped to its messages.")


class OutcomeResponseSerializer(serializers.Serializer):
    results = OutcomeResultSerializer(many=True)


def outcome_read(raw: Any) -> tuple[OutcomeIn | None, dict[str, list[str]]]:
    """One outcome of a body -> OutcomeIn (values as sent: the service checks them), or the shape's errors."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": ["each outcome must be a JSON object"]}
    member = raw.get("member")
    if member is not None and not isinstance(member, dict):
        return None, {"member": ["must be an object with external_id, email or crm_id"]}
    ref = None if member is None else OutcomeMemberIn(
        external_id=member.get("external_id"), email=member.get("email"), crm_id=member.get("crm_id"))
    return OutcomeIn(source=raw.get("source"), outcome_id=raw.get("outcome_id"), type=raw.get("type"),
                     occurred_at=raw.get("occurred_at"), member=ref, reason=raw.get("reason"),
                     value=raw.get("value")), {}
