"""The live experiments' API documents: what a start takes, what a stop takes, and an experiment with its report."""
from __future__ import annotations

from rest_framework import serializers


class ExperimentStartSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    config_b = serializers.JSONField(help_text="Variant B's interest document (rule_sets and stages, the shape "
                                               "GET /api/v1/config/interest/ answers).")
    share = serializers.FloatField(default=0.5, min_value=0.0001, max_value=0.9999,
                                   help_text="The share of new members scored by B.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ExperimentStopSerializer(serializers.Serializer):
    promote = serializers.ChoiceField(choices=["A", "B"], allow_null=True, required=False, default=None,
                                      help_text='"B" applies B as a new config version; "A" or null keeps the '
                                                "current configuration.")


class VariantReportSerializer(serializers.Serializer):
    variant = serializers.CharField()
    members = serializers.IntegerField()
    mqls = serializers.IntegerField()
    mql_rate = serializers.FloatField(allow_null=True)
    conversions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(allow_null=True)
    conversion_interval = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                                help_text="Wilson interval [low, high] of the conversion rate.")
    mql_conversions = serializers.IntegerField()
    mql_precision = serializers.FloatField(allow_null=True)


class DifferenceSerializer(serializers.Serializer):
    b_minus_a = serializers.FloatField(allow_null=True)
    interval = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                     help_text="Newcombe interval [low, high] of B's rate minus A's.")
    leader = serializers.CharField(allow_null=True)
    excludes_zero = serializers.BooleanField()


class ExperimentReportSerializer(serializers.Serializer):
    mql_stage = serializers.CharField()
    conversion_types = serializers.ListField(child=serializers.CharField())
    confidence = serializers.FloatField()
    variants = VariantReportSerializer(many=True)
    difference = DifferenceSerializer()


class ExperimentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()
    share = serializers.FloatField()
    config_version_a = serializers.IntegerField()
    config_b = serializers.JSONField()
    first_member_id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    promoted = serializers.CharField(allow_blank=True)
    promoted_version = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class ExperimentDetailSerializer(ExperimentSerializer):
    report = ExperimentReportSerializer()


class ExperimentListSerializer(serializers.Serializer):
    results = ExperimentSerializer(many=True)


class MemberExperimentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    variant = serializers.CharField()
