"""Outbound webhook subscriptions (CRUD) and their delivery log. Admin only."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from community_scoring.api.pagination import KeysetOrder, keyset_paginate, page_size_parse
from community_scoring.api.serializers import (
    WebhookDeliveryPageSerializer, WebhookDeliverySerializer, WebhookSubscriptionSerializer,
    WebhookSubscriptionUpdateSerializer,
)
from community_scoring.api.views.common import CURSOR_PARAMETERS, errors, next_link, path_id
from community_scoring.auth import IsAdminRole
from community_scoring.webhooks.models import WebhookDelivery, WebhookSubscription
from community_scoring.webhooks.services import (
    webhook_subscription_create, webhook_subscription_delete, webhook_subscription_update,
)


def _subscription(pk: int) -> WebhookSubscription:
    try:
        return WebhookSubscription.objects.get(pk=pk)
    except WebhookSubscription.DoesNotExist:
        raise Http404("No webhook subscription with this id.")


class WebhookSubscriptionListApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="webhooks_subscriptions_list", responses={200: WebhookSubscriptionSerializer(many=True), **errors()})
    def get(self, request):
        return Response(WebhookSubscriptionSerializer(WebhookSubscription.objects.all(), many=True).data)

    @extend_schema(
        operation_id="webhooks_subscriptions_create", request=WebhookSubscriptionSerializer,
        responses={201: WebhookSubscriptionSerializer, **errors(400)},
    )
    def post(self, request):
        serializer = WebhookSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(**serializer.validated_data)
        return Response(WebhookSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


class WebhookSubscriptionDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="webhooks_subscriptions_retrieve", parameters=[path_id("subscription_id")], responses={200: WebhookSubscriptionSerializer, **errors(404)})
    def get(self, request, subscription_id: int):
        return Response(WebhookSubscriptionSerializer(_subscription(subscription_id)).data)

    @extend_schema(
        operation_id="webhooks_subscriptions_partial_update", parameters=[path_id("subscription_id")], request=WebhookSubscriptionUpdateSerializer,
        responses={200: WebhookSubscriptionSerializer, **errors(400, 404)},
    )
    def patch(self, request, subscription_id: int):
        subscription = _subscription(subscription_id)
        serializer = WebhookSubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = webhook_subscription_update(subscription=subscription, **serializer.validated_data)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(operation_id="webhooks_subscriptions_destroy", parameters=[path_id("subscription_id")], responses={204: None, **errors(404)})
    def delete(self, request, subscription_id: int):
        webhook_subscription_delete(subscription=_subscription(subscription_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListApi(APIView):
    """The delivery log, newest first."""

    permission_classes = [IsAdminRole]

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        parameters=[
            OpenApiParameter("subscription", int, description="Only deliveries to this subscription."),
            OpenApiParameter("status", str, enum=list(WebhookDelivery.Status.values)),
            OpenApiParameter("event", str),
            *CURSOR_PARAMETERS,
        ],
        responses={200: WebhookDeliveryPageSerializer, **errors(400)},
    )
    def get(self, request):
        params = request.query_params
        deliveries = WebhookDelivery.objects.all()
        if params.get("subscription"):
            try:
                deliveries = deliveries.filter(subscription_id=int(params["subscription"]))
            except ValueError:
                raise ValidationError({"subscription": ["must be an integer id"]})
        if params.get("status"):
            if params["status"] not in WebhookDelivery.Status.values:
                raise ValidationError({"status": [f"must be one of {', '.join(WebhookDelivery.Status.values)}"]})
            deliveries = deliveries.filter(status=params["status"])
        if params.get("event"):
            deliveries = deliveries.filter(event=params["event"].replace("\x00", ""))
        page = keyset_paginate(
            queryset=deliveries, order=KeysetOrder(name="deliveries", value_field="id", id_field="id", descending=True),
            cursor=params.get("cursor"), page_size=page_size_parse(params.get("page_size")),
        )
        data = {"next": next_link(request, page), "results": page.rows}
        return Response(WebhookDeliveryPageSerializer(data).data)


class WebhookDeliveryDetailApi(APIView):
    permission_classes = [IsAdminRole]

    @extend_schema(operation_id="webhooks_deliveries_retrieve", parameters=[path_id("delivery_id")], responses={200: WebhookDeliverySerializer, **errors(404)})
    def get(self, request, delivery_id: int):
        delivery = WebhookDelivery.objects.filter(pk=delivery_id).first()
        if delivery is None:
            raise Http404("No delivery with this id.")
        return Response(WebhookDeliverySerializer(delivery).data)
