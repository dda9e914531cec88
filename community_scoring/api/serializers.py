"""Input and output shapes of the API; the OpenAPI schema is generated from these."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from community_scoring.api.experiment_serializers import MemberExperimentSerializer
from community_scoring.influence import selectors as influence_selectors
from community_scoring.models import MemberErasure, RecomputeJob
from community_scoring.moments import moment_parse
from community_scoring.scoring.fit import OPERATORS
from community_scoring.services.config_documents import (  # noqa: F401 (the config documents, described once)
    ClosedSerializer, InfluenceConfigSerializer, InterestConfigChangeSerializer, InterestConfigSerializer,
)
from community_scoring.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription


class MomentField(serializers.DateTimeField):
    """DateTimeField for input: text is read by the one timestamp parser the API has (community_scoring.moments: ISO
    8601, no NUL), then DRF applies the timezone as usual."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                value = moment_parse(value.strip())
            except ValueError:
                self.fail("invalid", format="ISO 8601, e.g. 2026-11-20T10:00:00Z")
        return super().to_internal_value(value)


def iso(value):
    """A datetime as DRF's DateTimeField renders it (UTC, 'Z'), for the hand-rolled row renderers below."""
    if value is None:
        return None
    text = value.astimezone(dt_timezone.utc).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def interest_row(score) -> dict | None:
    if score is None:
        return None
    return {
        "score": score.score, "engagement": score.engagement, "fit": score.fit, "stage": score.stage,
        "sales_stage": score.sales_stage, "primary_topic": score.primary_topic,
        "last_activity_at": iso(score.last_activity_at),
    }


def influence_row(row, *, excluded: bool) -> dict | None:
    """An influence score row as lists show it; `excluded`: the member's is_excluded (never shown flagged)."""
    if row is None:
        return None
    return {
        "score": row.influence, "base": row.influence_base, "centrality": row.centrality, "rank": row.rank,
        "percentile": row.percentile, "centrality_percentile": row.centrality_percentile,
        "reach_percentile": row.reach_percentile, "followers": row.in_degree, "reach": row.reach,
        "sentiment": row.sentiment, **influence_selectors.member_flags(row, excluded=excluded),
    }


def member_email(member, context) -> str | None:
    """A member's email, or None for callers without PII access (context["can_see_pii"], set by the views)."""
    return member.email if context.get("can_see_pii") else None


def related(obj, name: str):
    """A reverse one-to-one or filtered relation that may be absent (None instead of DoesNotExist)."""
    try:
        return getattr(obj, name)
    except AttributeError:  # RelatedObjectDoesNotExist is an AttributeError
        return None


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# ---- members ---------------------------------------------------------------------------------------------------

class InterestSummarySerializer(serializers.Serializer):
    score = serializers.FloatField()
    engagement = serializers.FloatField()
    fit = serializers.FloatField()
    stage = serializers.CharField(help_text="The score-driven stage (engagement and fit against the thresholds).")
    sales_stage = serializers.CharField(help_text=(
        "The sales-driven stage beside it, from outcomes: SQL, opportunity or customer; empty when sales put the "
        "member nowhere (or rejected, lost or churned them: the score-driven stage applies). Decay and scoring "
        "never change it."))
    primary_topic = serializers.CharField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


# Field descriptions shared by the list rows and the audience view (the formula: influence.formula).
INFLUENCE_HELP = {
    "score": "Influence 0-100: base x sentiment factor.",
    "base": "Influence before sentiment, 0-100: (a*C + b*R)/(a+b). Advocates and detractors are judged on it.",
    "centrality": "Raw weighted PageRank (sums to 1 over the community).",
    "rank": "Influence rank: 1 + the number of members (not excluded) with a higher influence; ties share a rank "
            "(competition ranking, 1224).",
    "percentile": "Influence percentile 0-100 among members not excluded; ties share the middle (mid-rank).",
    "centrality_percentile": "C, 0-100: mid-rank percentile of centrality, pulled towards 50 by the evidence prior: "
                             "w*M + (1-w)*50 with w = sources/(sources + k).",
    "reach_percentile": "R, 0-100: mid-rank percentile of reach, pulled towards 50: w = reach/(reach + k).",
    "followers": "Members following this member.",
    "reach": "Distinct members who engaged with their content in the window.",
    "sentiment": "Blended sentiment the formula uses, -1..1, shrunk towards 0 for members with few texts.",
    "is_advocate": "Advocate: base >= advocate_min_influence, sentiment >= advocate_min_sentiment, at least "
                   "min_texts texts written. Never an excluded (staff) member.",
    "is_detractor": "Detractor: base >= detractor_min_influence, sentiment <= detractor_max_sentiment, at least "
                    "min_texts texts written. Never an excluded (staff) member.",
    "reason": "Why the member is an advocate or a detractor, e.g. 'influence before sentiment 74 (centrality 81st "
              "pct, reach 66th pct); sentiment -0.42 over 12 texts'; null when neither.",
}


class InfluenceSummarySerializer(serializers.Serializer):
    """The member's row of the current influence run."""

    score = serializers.FloatField(source="influence", help_text=INFLUENCE_HELP["score"])
    base = serializers.FloatField(source="influence_base", help_text=INFLUENCE_HELP["base"])
    centrality = serializers.FloatField(help_text=INFLUENCE_HELP["centrality"])
    rank = serializers.IntegerField(help_text=INFLUENCE_HELP["rank"])
    percentile = serializers.FloatField(help_text=INFLUENCE_HELP["percentile"])
    centrality_percentile = serializers.FloatField(help_text=INFLUENCE_HELP["centrality_percentile"])
    reach_percentile = serializers.FloatField(help_text=INFLUENCE_HELP["reach_percentile"])
    followers = serializers.IntegerField(source="in_degree", help_text=INFLUENCE_HELP["followers"])
    reach = serializers.IntegerField(help_text=INFLUENCE_HELP["reach"])
    sentiment = serializers.FloatField(help_text=INFLUENCE_HELP["sentiment"])
    is_advocate = serializers.BooleanField(help_text=INFLUENCE_HELP["is_advocate"])
    is_detractor = serializers.BooleanField(help_text=INFLUENCE_HELP["is_detractor"])
    reason = serializers.CharField(allow_null=True, help_text=INFLUENCE_HELP["reason"])


class MemberSerializer(serializers.Serializer):
    """A member in a list: identity plus current scores. `email` is null for callers without PII access."""

    id = serializers.IntegerField()
    source = serializers.CharField()
    external_id = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.CharField(allow_null=True, help_text="null unless the caller may see PII.")
    crm_id = serializers.CharField()
    persona = serializers.CharField()
    joined_at = serializers.DateTimeField()
    is_excluded = serializers.BooleanField()
    interest = InterestSummarySerializer(allow_null=True)
    influence = InfluenceSummarySerializer(source="current_influence", allow_null=True)

    def to_representation(self, m):
        # Written out by hand (same shape as the declared fields): list pages render 50-500 of these per request.
        return {
            "id": m.id, "source": m.source, "external_id": m.external_id, "display_name": m.display_name,
            "email": member_email(m, self.context), "crm_id": m.crm_id, "persona": m.persona,
            "joined_at": iso(m.joined_at), "is_excluded": m.is_excluded,
            "interest": interest_row(related(m, "interest")),
            "influence": influence_row(related(m, "current_influence"), excluded=m.is_excluded),
        }


class MemberPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Link to the next page; null on the last page.")
    results = MemberSerializer(many=True)
    valued_at = serializers.DateTimeField(
        help_text="The instant every interest value in `results` (engagement, score, stage) is valued at.")


# ---- webhooks --------------------------------------------------------------------------------------------------

class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False,
        help_text="Events to receive: " + ", ".join(WebhookEvent.values),
    )
    secret = serializers.CharField(
        write_only=True, min_length=16, max_length=200,
        help_text="Shared secret for X-Community-Scoring-Signature (HMAC-SHA256). Never returned.",
    )
    url = serializers.URLField(max_length=500)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "secret", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class WebhookSubscriptionUpdateSerializer(WebhookSubscriptionSerializer):
    """PATCH: any subset of the fields."""

    class Meta(WebhookSubscriptionSerializer.Meta):
        extra_kwargs = {"name": {"required": False}, "url": {"required": False}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    subscription = serializers.IntegerField(source="subscription_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "delivery_id", "subscription", "event", "payload", "status", "attempts", "response_code",
            "last_error", "created_at", "last_attempt_at", "next_attempt_at", "delivered_at",
        ]
        read_only_fields = fields


class WebhookDeliveryPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = WebhookDeliverySerializer(many=True)


# ---- recompute -------------------------------------------------------------------------------------------------

class RecomputeJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="done / total, 0..1.")

    class Meta:
        model = RecomputeJob
        fields = [
            "id", "kind", "status", "config_version", "total", "done", "progress", "error", "created_at",
            "started_at", "finished_at",
        ]
        read_only_fields = fields


# ---- leaderboards ----------------------------------------------------------------------------------------------

class MemberBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    external_id = serializers.CharField()
    display_name = serializers.CharField()
    persona = serializers.CharField()
    email = serializers.CharField(allow_null=True, help_text="null unless the caller may see PII.")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["email"] = member_email(instance, self.context)
        return data


class LeaderboardRowSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1-based place on this board, counted along the cursor walk.")
    value = serializers.FloatField(help_text="What the board ranks by: interest score, influence or gain.")
    member = MemberBriefSerializer()
    interest = InterestSummarySerializer(allow_null=True)
    influence = InfluenceSummarySerializer(allow_null=True)
    baseline = serializers.FloatField(
        allow_null=True, help_text="rising only: interest score at the start of the period (0 if none)."
    )

    def to_representation(self, row):
        # Written out by hand (same shape as the declared fields): the hot path of every leaderboard page.
        m = row["member"]
        return {
            "position": row["position"], "value": row["value"],
            "member": {"id": m.id, "source": m.source, "external_id": m.external_id, "display_name": m.display_name,
                       "persona": m.persona, "email": member_email(m, self.context)},
            "interest": interest_row(row["interest"]),
            "influence": influence_row(row["influence"], excluded=m.is_excluded),
            "baseline": row["baseline"],
        }


VALUED_AT_HELP = ("The instant every interest value here (engagement, score, stage; a board's value) is valued at: "
                  "engagement decays from each member's last action to this moment. Interest boards are ordered by "
                  "a key refreshed every few minutes; the values shown are at this instant.")


class LeaderboardPageSerializer(serializers.Serializer):
    board = serializers.CharField()
    period = serializers.CharField()
    persona = serializers.CharField(allow_null=True)
    next = serializers.URLField(allow_null=True)
    results = LeaderboardRowSerializer(many=True)
    valued_at = serializers.DateTimeField(help_text=VALUED_AT_HELP)

    def to_representation(self, page):
        # Written out by hand (same shape as the declared fields), as the rows are: one per leaderboard request.
        row = LeaderboardRowSerializer(context=self.context)
        return {"board": page["board"], "period": page["period"], "persona": page["persona"], "next": page["next"],
                "results": [row.to_representation(r) for r in page["results"]], "valued_at": iso(page["valued_at"])}


# ---- audience view ---------------------------------------------------------------------------------------------

class MemberIdentitySerializer(MemberBriefSerializer):
    crm_id = serializers.CharField()
    attributes = serializers.DictField(help_text="job_title, company_size, industry...")
    joined_at = serializers.DateTimeField()
    is_excluded = serializers.BooleanField()


class IdentitySerializer(serializers.Serializer):
    """One (source, external id) the member is known by. A member is one person: identities with the same crm_id
    or the same verified email are merged into it, and an admin may merge or unmerge them."""

    id = serializers.IntegerField(help_text="The identity's id: the member's own id for the first identity.")
    source = serializers.CharField()
    external_id = serializers.CharField()
    display_name = serializers.CharField()
    email = serializers.CharField(allow_null=True, help_text="null unless the caller may see PII.")
    email_verified = serializers.BooleanField(help_text="The source verified this email.")
    crm_id = serializers.CharField()
    merged = serializers.BooleanField(help_text="Merged into this member (false: the member's own identity).")


class MergeInSerializer(serializers.Serializer):
    members = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=100,
        help_text="Ids of the members (or identities) to merge into this member, with all their identities.")


class UnmergeInSerializer(serializers.Serializer):
    identity = serializers.IntegerField(
        min_value=1, help_text="Id of an identity merged into this member: it becomes a member of its own again.")


class MemberErasureSerializer(serializers.ModelSerializer):
    """What an erasure did (services.erasure.member_erase): the same record however often it is asked for."""

    member = serializers.IntegerField(source="member_id", allow_null=True, help_text="The member erased (the person).")
    identities = serializers.ListField(child=serializers.IntegerField(), source="identity_ids",
                                       help_text="Every identity erased, the member's own included.")
    erased = serializers.DictField(
        child=serializers.IntegerField(), source="counts",
        help_text="Rows erased by kind: identities, action_texts, action_metadata, content_titles, outcome_reasons, "
                  "webhook_deliveries, users, texts_scored (texts given their sentiment score before being "
                  "blanked) and the platforms' own (forum_posts, forum_poll_choices, forum_poll_responses).")

    class Meta:
        model = MemberErasure
        fields = ["id", "member", "identities", "requested_by", "requested_at", "erased"]
        read_only_fields = fields


class BreakdownRowSerializer(serializers.Serializer):
    """How the engagement score was earned from one action type (acting, or being acted on if `received`)."""

    action_type = serializers.CharField()
    received = serializers.BooleanField()
    count = serializers.IntegerField()
    raw_points = serializers.FloatField(help_text="Rule points before caps.")
    points = serializers.FloatField(help_text="After caps and once-only rules, before decay.")
    decayed_points = serializers.FloatField(help_text="What it contributes to engagement now.")


class TopicSerializer(serializers.Serializer):
    topic = serializers.CharField()
    points = serializers.FloatField()


class FitRuleMatchSerializer(serializers.Serializer):
    """A fit rule the member meets: the rule, what it gives, and the attribute value that met it."""

    attribute = serializers.CharField()
    operator = serializers.ChoiceField(choices=OPERATORS)
    value = serializers.CharField()
    points = serializers.FloatField()
    actual = serializers.JSONField(help_text="The member's value of the attribute.")


class AudienceInterestSerializer(InterestSummarySerializer):
    sales_stage_outcome = serializers.CharField(
        help_text="The outcome type that last set or cleared the sales stage (empty: none yet).")
    sales_stage_reason = serializers.CharField(
        help_text="The reason sales gave with it; kept when a rejection or loss cleared the sales stage.")
    sales_stage_at = serializers.DateTimeField(allow_null=True, help_text="When that outcome occurred.")
    breakdown = BreakdownRowSerializer(many=True)
    fit_breakdown = FitRuleMatchSerializer(many=True, help_text="The fit rules the member meets; points sum to fit.")
    topics = TopicSerializer(many=True)


class InboundEdgeSerializer(serializers.Serializer):
    """Who gives the member influence: one (source member, action type) edge of the graph."""

    member_id = serializers.IntegerField()
    display_name = serializers.CharField()
    source_rank = serializers.IntegerField(allow_null=True, help_text="The source member's influence rank.")
    action_type = serializers.CharField()
    actions = serializers.IntegerField()
    weight = serializers.FloatField(help_text="Decayed edge weight (edge weight x sum of decayed actions).")


class InfluenceRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    trigger = serializers.CharField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    nodes = serializers.IntegerField()
    edges = serializers.IntegerField()
    iterations = serializers.IntegerField()
    converged = serializers.BooleanField()
    warm_start = serializers.BooleanField()
    texts_scored = serializers.IntegerField()
    duration_seconds = serializers.FloatField(allow_null=True)
    timings = serializers.DictField(child=serializers.FloatField(), help_text="Seconds per phase.")
    error = serializers.CharField(allow_blank=True)


class InfluenceFormulaSerializer(serializers.Serializer):
    """The influence formula's terms for this member, with the weights the run used:
    influence = (a*C + b*R)/(a+b) * (1 + g*s)/(1 + |g|); C = w_C*M_C + (1-w_C)*50, R likewise, w = e/(e+k)."""

    expression = serializers.CharField()
    C_centrality_percentile = serializers.FloatField(help_text="C, evidence-weighted centrality percentile.")
    R_reach_percentile = serializers.FloatField(help_text="R, evidence-weighted reach percentile.")
    k_evidence_prior = serializers.FloatField(help_text="k: pseudo-observations of a typical member (50).")
    w_centrality = serializers.FloatField(help_text="w_C = sources/(sources + k): C's own-evidence weight.")
    w_reach = serializers.FloatField(help_text="w_R = reach/(reach + k): R's own-evidence weight.")
    a_centrality_weight = serializers.FloatField()
    b_reach_weight = serializers.FloatField()
    base = serializers.FloatField(help_text="(a*C + b*R)/(a+b): influence before sentiment.")
    s_sentiment = serializers.FloatField()
    g_sentiment_weight = serializers.FloatField()
    sentiment_factor = serializers.FloatField()
    influence = serializers.FloatField()


class InfluenceEvidenceSerializer(serializers.Serializer):
    """How much evidence the member's influence rests on."""

    followers = serializers.IntegerField()
    sources = serializers.IntegerField(help_text="Distinct members with an edge into this member (evidence for C).")
    reach = serializers.IntegerField(help_text="Distinct members reached in the window (evidence for R).")
    texts = serializers.IntegerField(help_text="Texts written in the window (min_texts needed to be flagged).")
    replies_received = serializers.IntegerField()
    prior = serializers.FloatField(help_text="k, the evidence prior the run used.")
    min_texts = serializers.IntegerField(help_text="Texts needed to be flagged advocate or detractor.")
    share = serializers.FloatField(
        help_text="Share of the base resting on the member's own evidence, (a*w_C + b*w_R)/(a+b), 0..1; the rest "
                  "is the typical member's 50."
    )
    label = serializers.ChoiceField(choices=["little", "some", "solid"],
                                    help_text="share < 0.2: little; < 0.5: some; else solid.")


class InfluenceHistoryPointSerializer(serializers.Serializer):
    """The member's influence on one day (the last run of that day)."""

    day = serializers.DateField()
    run_id = serializers.IntegerField(help_text="The run that wrote this day.")
    influence = serializers.FloatField()
    base = serializers.FloatField(help_text="Influence before sentiment.")
    rank = serializers.IntegerField(help_text="Influence rank that day (ties share a rank).")
    percentile = serializers.FloatField(help_text="Influence percentile that day.")
    centrality_percentile = serializers.FloatField()
    reach = serializers.IntegerField()
    sentiment = serializers.FloatField()
    is_advocate = serializers.BooleanField()
    is_detractor = serializers.BooleanField()


class AudienceInfluenceSerializer(InfluenceSummarySerializer):
    """The member's influence row with what explains it: evidence, formula terms, inbound edges, history."""

    sentiment = serializers.FloatField(source="sentiment.blended", help_text=INFLUENCE_HELP["sentiment"])
    evidence = InfluenceEvidenceSerializer()
    formula = InfluenceFormulaSerializer()
    top_inbound = InboundEdgeSerializer(source="inbound_edges", many=True)
    history = InfluenceHistoryPointSerializer(
        many=True, help_text="The member's influence per day (daily snapshots, oldest first) within the audience "
                             "view's period."
    )
    run = InfluenceRunSerializer(help_text="The run these scores come from.")


class ImplicitSentimentSerializer(serializers.Serializer):
    """From VADER compound scores of the member's texts and of the replies they received."""

    mean = serializers.FloatField(allow_null=True, help_text="Mean compound of texts written, -1..1.")
    count = serializers.IntegerField()
    positive_share = serializers.FloatField()
    negative_share = serializers.FloatField()
    received_mean = serializers.FloatField(allow_null=True)
    received_count = serializers.IntegerField()
    band = serializers.ChoiceField(choices=["positive", "neutral", "negative"], allow_null=True)


class ExplicitSentimentSerializer(serializers.Serializer):
    """From poll responses' ratings; see selectors.members.poll_response_sentiment."""

    poll_responses = serializers.IntegerField()
    rated_responses = serializers.IntegerField()
    mean = serializers.FloatField(allow_null=True)
    band = serializers.ChoiceField(choices=["positive", "neutral", "negative"], allow_null=True)


class SentimentSerializer(serializers.Serializer):
    implicit = ImplicitSentimentSerializer(allow_null=True)
    explicit = ExplicitSentimentSerializer()


class StageTransitionSerializer(serializers.Serializer):
    from_stage = serializers.CharField()
    to_stage = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    engagement = serializers.FloatField()
    fit = serializers.FloatField()
    reason = serializers.CharField(help_text="action, recompute, decay, config, merge...; for a sales stage move "
                                             "the outcome type (sql, opportunity, won, sales_rejected, lost...).")
    detail = serializers.CharField(help_text="A sales stage move: the reason sales gave; else empty.")


class OutcomeRowSerializer(serializers.Serializer):
    """One outcome recorded for the member (POST /api/v1/outcomes/)."""

    source = serializers.CharField()
    outcome_id = serializers.CharField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    reason = serializers.CharField()
    value = serializers.CharField(help_text="A custom conversion's name or an amount, as sent.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, coerce_to_string=True,
                                      help_text="`value` when it is a number.")


class ScorePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    engagement = serializers.FloatField()
    fit = serializers.FloatField()
    score = serializers.FloatField()
    stage = serializers.CharField()


class ScoreHistorySerializer(serializers.Serializer):
    period = serializers.CharField()
    since = serializers.DateField(allow_null=True)
    points = ScorePointSerializer(many=True)


class ExclusionSerializer(serializers.Serializer):
    """A gaming flag naming the member (community_scoring.gaming): while it is not cleared, the actions it names
    count for neither score."""

    flag = serializers.IntegerField()
    # Plain strings, not enums: "kind" and "status" enums elsewhere would collide in the schema's names.
    kind = serializers.CharField(help_text="ring (vote ring or sock-puppet follows) or burst (votes in a burst).")
    status = serializers.CharField(help_text="flagged (awaiting review), confirmed or cleared (counts again).")
    excluding = serializers.BooleanField(help_text="Its actions are excluded now (not cleared).")
    reason = serializers.CharField()
    detected_at = serializers.DateTimeField()
    actions_excluded = serializers.IntegerField(help_text="The member's own actions it excludes.")
    received_excluded = serializers.IntegerField(help_text="Actions others did to the member that it excludes.")


_EXCLUSION_KEYS = ("flag", "kind", "status", "excluding", "reason", "actions_excluded", "received_excluded")


class AudienceSerializer(serializers.Serializer):
    """Everything known about one member, for a CRM or a profile page."""

    valued_at = serializers.DateTimeField(
        help_text="The instant the interest (engagement, score, stage, breakdown, topics) is valued at.")
    member = MemberIdentitySerializer()
    identities = IdentitySerializer(many=True)
    interest = AudienceInterestSerializer(allow_null=True)
    influence = AudienceInfluenceSerializer(allow_null=True)
    sentiment = SentimentSerializer()
    stage_history = StageTransitionSerializer(many=True, help_text="Score-driven and sales-driven moves, newest first.")
    score_history = ScoreHistorySerializer()
    experiment = MemberExperimentSerializer(
        allow_null=True, help_text="The running live experiment the member takes part in, and the variant "
                                   "(A: the current configuration, B: the experiment's) that scores them.")
    exclusions = ExclusionSerializer(many=True, help_text="Gaming flags naming the member, newest first.")
    outcomes = OutcomeRowSerializer(many=True, help_text="The member's newest outcomes (up to 100), newest first.")

    def to_representation(self, data):
        # Written out by hand (same shape as the declared fields, which the schema and tests hold it to): the
        # generic nested rendering was a quarter of the audience view's time.
        m = data["member"]
        interest = data["interest"]
        if interest is not None:
            interest = {
                "score": interest["score"], "engagement": interest["engagement"], "fit": interest["fit"],
                "stage": interest["stage"], "sales_stage": interest["sales_stage"],
                "sales_stage_outcome": interest["sales_stage_outcome"],
                "sales_stage_reason": interest["sales_stage_reason"],
                "sales_stage_at": iso(interest["sales_stage_at"]),
                "primary_topic": interest["primary_topic"], "last_activity_at": iso(interest["last_activity_at"]),
                "breakdown": [{key: row[key] for key in _BREAKDOWN_KEYS} for row in interest["breakdown"]],
                "fit_breakdown": [{key: row[key] for key in _FIT_KEYS} for row in interest["fit_breakdown"]],
                "topics": [{"topic": t["topic"], "points": t["points"]} for t in interest["topics"]],
            }
        influence = data["influence"]
        if influence is not None:
            run = influence["run"]
            influence = {
                "score": influence["influence"], "base": influence["influence_base"],
                "centrality": influence["centrality"], "rank": influence["rank"],
                "percentile": influence["percentile"], "centrality_percentile": influence["centrality_percentile"],
                "followers": influence["in_degree"],
                "reach": influence["reach"], "reach_percentile": influence["reach_percentile"],
                "sentiment": influence["sentiment"]["blended"], "is_advocate": influence["is_advocate"],
                "is_detractor": influence["is_detractor"], "reason": influence["reason"],
                "evidence": {key: influence["evidence"][key] for key in _EVIDENCE_KEYS},
                "formula": {key: influence["formula"][key] for key in _FORMULA_KEYS},
                "top_inbound": [{key: e.get(key) for key in _EDGE_KEYS} for e in influence["inbound_edges"]],
                "history": [{**{key: h[key] for key in _HISTORY_KEYS}, "day": h["day"].isoformat(),
                             "base": h["influence_base"]} for h in influence["history"]],
                "run": {**{key: run[key] for key in _RUN_KEYS}, "started": _iso_text(run["started"]),
                        "finished": _iso_text(run["finished"]), "timings": dict(run["timings"] or {})},
            }
        history = data["score_history"]
        return {
            "valued_at": iso(data["valued_at"]),
            "member": {
                "id": m.id, "source": m.source, "external_id": m.external_id, "display_name": m.display_name,
                "persona": m.persona, "email": member_email(m, self.context),
                "crm_id": m.crm_id, "attributes": m.attributes, "joined_at": iso(m.joined_at),
                "is_excluded": m.is_excluded,
            },
            "identities": [
                {"id": i.pk, "source": i.source, "external_id": i.external_id, "display_name": i.display_name,
                 "email": member_email(i, self.context), "email_verified": i.email_verified, "crm_id": i.crm_id,
                 "merged": i.pk != m.pk}
                for i in data["identities"]
            ],
            "interest": interest,
            "influence": influence,
            "sentiment": data["sentiment"],
            "stage_history": [
                {"from_stage": t.from_stage, "to_stage": t.to_stage, "occurred_at": iso(t.occurred_at),
                 "engagement": t.engagement, "fit": t.fit, "reason": t.reason, "detail": t.detail}
                for t in data["stage_history"]
            ],
            "experiment": data.get("experiment"),
            "score_history": {
                "period": history["period"],
                "since": history["since"].isoformat() if history["since"] else None,
                "points": [
                    {"date": p.date.isoformat(), "engagement": p.engagement, "fit": p.fit, "score": p.score,
                     "stage": p.stage}
                    for p in history["points"]
                ],
            },
            "exclusions": [{**{key: e[key] for key in _EXCLUSION_KEYS}, "detected_at": iso(e["detected_at"])}
                           for e in data.get("exclusions", [])],
            "outcomes": [
                {"source": o.source, "outcome_id": o.outcome_id, "type": o.type, "occurred_at": iso(o.occurred_at),
                 "reason": o.reason, "value": o.value, "amount": None if o.amount is None else f"{o.amount:.2f}"}
                for o in data.get("outcomes", ())
            ],
        }


# The nested documents' keys, read once: instantiating their serializers per request deep-copied every field.
_EVIDENCE_KEYS = tuple(InfluenceEvidenceSerializer().fields)
_FORMULA_KEYS = tuple(InfluenceFormulaSerializer().fields)
_BREAKDOWN_KEYS = ("action_type", "received", "count", "raw_points", "points", "decayed_points")
_FIT_KEYS = ("attribute", "operator", "value", "points", "actual")
_EDGE_KEYS = ("member_id", "display_name", "source_rank", "action_type", "actions", "weight")
_HISTORY_KEYS = ("run_id", "influence", "rank", "percentile", "centrality_percentile", "reach", "sentiment",
                 "is_advocate", "is_detractor")
_RUN_KEYS = ("id", "status", "trigger", "nodes", "edges", "iterations", "converged", "warm_start", "texts_scored",
             "duration_seconds", "error")


def _iso_text(value):
    """An ISO datetime string (as run records carry them) in the API's form ('Z' for UTC)."""
    if not value:
        return None
    return iso(datetime.fromisoformat(value))


# ---- configuration ---------------------------------------------------------------------------------------------
# The interest configuration document and the influence parameters are described once, in
# community_scoring.services.config_documents: those serializers validate every change, answer these endpoints and
# make their schema.

class ClosedSerializerSchema(OpenApiSerializerExtension):
    """Config documents refuse unknown keys (additionalProperties: false); every field is in every answer."""

    target_class = ClosedSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        if direction == "response":
            schema["required"] = sorted(name for name, field in self.target.fields.items() if not field.write_only)
        return schema


class ConfigVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True, source="created_by.get_username", default=None)
    note = serializers.CharField(allow_blank=True)
    snapshot = InterestConfigSerializer()
    influence = serializers.DictField(
        source="snapshot.influence", required=False, allow_null=True,
        help_text="Influence parameters in force in this version (absent on versions recorded before they were).",
    )


class ConfigVersionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    results = ConfigVersionSerializer(many=True)


class ConfigAppliedSerializer(serializers.Serializer):
    version = ConfigVersionSerializer()
    recompute = RecomputeJobSerializer(allow_null=True, help_text="The full interest recompute this change started.")


class ConfigPreviewSerializer(serializers.Serializer):
    members = serializers.IntegerField(help_text="Members evaluated.")
    members_changing_stage = serializers.IntegerField()
    by_transition = serializers.DictField(child=serializers.IntegerField(), help_text='"engaged->MQL": count.')
    member_ids_by_transition = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()),
        help_text='"engaged->MQL": the ids of the members who would move so, ascending.')


class InfluenceRunPageSerializer(serializers.Serializer):
    results = InfluenceRunSerializer(many=True)


class RecomputeJobListSerializer(serializers.Serializer):
    results = RecomputeJobSerializer(many=True)


# ---- quality report --------------------------------------------------------------------------------------------
# What each figure means: community_scoring.outcomes.services.quality.quality_report.

class QualityBandSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    converted = serializers.IntegerField(help_text="Members of the band with a conversion in (T, end].")
    rate = serializers.FloatField(allow_null=True, help_text="converted / members; null for an empty band.")


class QualityStageSerializer(QualityBandSerializer):
    stage = serializers.CharField(help_text="A configured stage (lowest first): the members' stage at T.")


class QualityDecileSerializer(QualityBandSerializer):
    decile = serializers.IntegerField(help_text="Score decile at T, 1 (lowest) to 10 (highest); ties share one.")
    min_score = serializers.FloatField(allow_null=True)
    max_score = serializers.FloatField(allow_null=True)


class QualityWeekSerializer(serializers.Serializer):
    week_start = serializers.DateTimeField()
    days = serializers.IntegerField(help_text="7, or fewer for the period's last week.")
    mql = serializers.IntegerField(help_text="Members who entered the MQL stage (or above) that week.")


class QualityReportSerializer(serializers.Serializer):
    period_days = serializers.IntegerField()
    within_days = serializers.IntegerField()
    start = serializers.DateTimeField(help_text="end - period_days.")
    T = serializers.DateTimeField(help_text="end - within_days: when members are scored.")
    end = serializers.DateTimeField()
    persona = serializers.CharField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    conversion_types = serializers.ListField(child=serializers.CharField())
    mql_stage = serializers.CharField()
    members = serializers.IntegerField(help_text="The population: acted by T, not converted by T.")
    converted = serializers.IntegerField(help_text="Members of the population with a conversion in (T, end].")
    conversion_rate = serializers.FloatField(allow_null=True)
    auc = serializers.FloatField(allow_null=True, help_text="ROC AUC of the score at T for conversion in (T, end].")
    top_decile_lift = serializers.FloatField(allow_null=True)
    by_stage = QualityStageSerializer(many=True)
    by_decile = QualityDecileSerializer(many=True)
    mql_members = serializers.IntegerField(help_text="Population members at MQL or above at T.")
    mql_converted = serializers.IntegerField()
    mql_precision = serializers.FloatField(allow_null=True, help_text="mql_converted / mql_members.")
    mql_cohort = serializers.IntegerField(help_text="Members who entered MQL in the period or were MQL at T.")
    mql_cohort_sql = serializers.IntegerField(help_text="Of them, with an sql or sales_accepted outcome after.")
    mql_to_sql_rate = serializers.FloatField(allow_null=True)
    sales_accepted = serializers.IntegerField(help_text="sales_accepted outcomes in [start, end].")
    sales_rejected = serializers.IntegerField(help_text="sales_rejected outcomes in [start, end].")
    sales_acceptance_rate = serializers.FloatField(allow_null=True)
    mql_conversions = serializers.IntegerField(help_text="MQL entrants who converted after entering, by end.")
    median_days_mql_to_conversion = serializers.FloatField(allow_null=True)
    mql_per_week = QualityWeekSerializer(many=True)
    capacity_per_week = serializers.FloatField()
    weeks_over_capacity = serializers.IntegerField()
    outcomes_recorded = serializers.IntegerField(help_text="Outcomes of these members up to end (0: none yet).")
