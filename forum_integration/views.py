"""The Discourse webhook receiver: verify the signature over the raw body, then hand the event to the service."""
import json

from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from community_scoring.services.errors import ActionRejected
from forum_integration.services.discourse import (
    DiscoursePayloadError, discourse_event_receive, discourse_receiver_for, discourse_signature_valid,
)


@method_decorator(csrf_exempt, name="dispatch")
class DiscourseWebhookView(View):
    """POST /integrations/discourse/webhook/ — 401 unsigned, 403 bad signature or unknown instance (nothing is
    recorded), 400 malformed body, 200 otherwise (recorded, duplicate or ignored, said in the body)."""

    http_method_names = ["post"]

    def post(self, request):
        signature = request.headers.get("X-Discourse-Event-Signature", "")
        if not signature:
            return JsonResponse({"detail": "missing X-Discourse-Event-Signature"}, status=401)
        receiver = discourse_receiver_for(instance_url=request.headers.get("X-Discourse-Instance", ""))
        if receiver is None:
            return JsonResponse({"detail": "no webhook secret configured for this Discourse instance"}, status=403)
        body = request.body
        if not discourse_signature_valid(secret=receiver.secret, body=body, signature=signature):
            return JsonResponse({"detail": "bad X-Discourse-Event-Signature"}, status=403)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return JsonResponse({"body": [f"malformed JSON: {exc}"]}, status=400)
        except RecursionError:  # the parser recurses per level; no Discourse payload comes near its limit
            return JsonResponse({"body": ["malformed JSON: nested too deeply"]}, status=400)
        if not isinstance(payload, dict):
            return JsonResponse({"body": ["must be a JSON object"]}, status=400)
        event = request.headers.get("X-Discourse-Event") or request.headers.get("X-Discourse-Event-Type", "")
        try:
            outcome = discourse_event_receive(
                receiver=receiver, event=event.strip(), payload=payload,
                delivery_id=request.headers.get("X-Discourse-Event-Id", ""),
            )
        except DiscoursePayloadError as exc:
            return JsonResponse({exc.field: [exc.message]}, status=400)
        except ActionRejected as exc:
            return JsonResponse(exc.errors, status=400)
        return JsonResponse({"status": outcome.status, "detail": outcome.detail, "action_id": outcome.action_id})
