"""Webhook bodies shaped like Discourse's own serializers, and a signer like Jobs::EmitWebHookEvent.

Key sets follow app/serializers/web_hook_topic_view_serializer.rb (its spec lists the topic keys),
web_hook_post_serializer.rb (PostSerializer minus can_* / actions_summary / flair..., plus topic_posts_count,
topic_filtered_posts_count, topic_archetype, category_slug, raw, category_id), web_hook_user_serializer.rb
(UserSerializer plus email/external_id), WebHookLikeSerializer ({"post": WebHookPost, "user": BasicUser}) and
discourse-solved's enqueue_solved_hooks (type "solved", payload = WebHookPost of the accepted post).
"""
import hashlib
import hmac
import json

AVATAR = "/user_avatar/forum.example.com/{username}/{{size}}/2_2.png"
INSTANCE = "https://forum.example.com"


def basic_user(user_id, username, name=None):
    return {"id": user_id, "username": username, "name": name or username.title(),
            "avatar_template": AVATAR.format(username=username)}


def topic(topic_id, user_id, username, *, title="How do I page results?", category_id=5, tags=("pagination",),
          archetype="regular", created_at="2026-11-20T10:00:00.000Z"):
    creator = basic_user(user_id, username)
    return {"topic": {
        "tags": list(tags), "tags_descriptions": {}, "id": topic_id, "title": title, "fancy_title": title,
        "posts_count": 1, "created_at": created_at, "views": 0, "reply_count": 0, "like_count": 0,
        "last_posted_at": created_at, "visible": True, "closed": False, "archived": False, "archetype": archetype,
        "slug": title.lower().replace(" ", "-").strip("?"), "category_id": category_id, "word_count": 12,
        "deleted_at": None, "user_id": user_id, "featured_link": None, "pinned_globally": False, "pinned_at": None,
        "pinned_until": None, "unpinned": None, "pinned": False, "highest_post_number": 1, "deleted_by": None,
        "bookmarked": None, "participant_count": 1, "thumbnails": None, "created_by": creator, "last_poster": creator,
    }}


def post_object(post_id, topic_id, post_number, user_id, username, *, reply_to_post_number=None,
                raw="Use the cursor parameter.", topic_title="How do I page results?", category_id=5,
                category_slug="api", post_type=1, topic_archetype="regular", created_at="2026-11-20T10:05:00.000Z"):
    return {
        "id": post_id, "name": username.title(), "username": username,
        "avatar_template": AVATAR.format(username=username), "created_at": created_at,
        "cooked": f"<p>{raw}</p>", "post_number": post_number, "post_type": post_type, "updated_at": created_at,
        "reply_count": 0, "reply_to_post_number": reply_to_post_number, "quote_count": 0,
        "incoming_link_count": 0, "reads": 1, "score": 0, "topic_id": topic_id,
        "topic_slug": topic_title.lower().replace(" ", "-").strip("?"), "topic_title": topic_title,
        "category_id": category_id, "display_username": username.title(), "primary_group_name": None,
        "flair_name": None, "flair_group_id": None, "version": 1, "user_title": None, "bookmarked": False,
        "raw": raw, "moderator": False, "admin": False, "staff": False, "user_id": user_id, "hidden": False,
        "trust_level": 1, "deleted_at": None, "user_deleted": False, "edit_reason": None, "wiki": False,
        "reviewable_id": None, "reviewable_score_count": 0, "reviewable_score_pending_count": 0,
        "topic_posts_count": post_number, "topic_filtered_posts_count": post_number,
        "topic_archetype": topic_archetype, "category_slug": category_slug,
    }


def post(*args, **kwargs):
    return {"post": post_object(*args, **kwargs)}


def like(post_obj, liker_id, liker_username):
    return {"like": {"post": post_obj, "user": basic_user(liker_id, liker_username)}}


def solved(post_obj):
    return {"solved": post_obj}


def user(user_id, username, email, *, created_at="2026-11-20T09:00:00.000Z"):
    return {"user": {
        "id": user_id, "username": username, "name": username.title(), "avatar_template": AVATAR.format(username=username),
        "email": email, "secondary_emails": [], "unconfirmed_emails": [], "last_posted_at": None,
        "last_seen_at": None, "created_at": created_at, "ignored": False, "muted": False, "can_ignore_user": False,
        "can_mute_user": False, "can_send_private_messages": True, "can_send_private_message_to_user": True,
        "trust_level": 0, "moderator": False, "admin": False, "title": None, "badge_count": 0,
        "time_read": 0, "recent_time_read": 0, "primary_group_id": None, "primary_group_name": None,
        "flair_group_id": None, "flair_name": None, "featured_topic": None, "staged": False, "pending_count": 0,
        "profile_view_count": 0, "second_factor_enabled": False, "can_upload_profile_header": False,
        "can_upload_user_card_background": False, "post_count": 0, "locale": None, "muted_category_ids": [],
        "regular_category_ids": [], "watched_tags": [], "watching_first_post_tags": [], "tracked_tags": [],
        "muted_tags": [], "tracked_category_ids": [], "watched_category_ids": [],
        "watched_first_post_category_ids": [], "system_avatar_template": AVATAR.format(username=username),
        "muted_usernames": [], "ignored_usernames": [], "allowed_pm_usernames": [],
        "mailing_list_posts_per_day": 0, "can_change_bio": True, "user_api_keys": None, "user_auth_tokens": [],
        "user_notification_schedule": None, "use_logo_small_as_avatar": False, "external_id": None,
    }}


EVENT_TYPES = {"topic_created": "topic", "post_created": "post", "post_liked": "like", "user_created": "user",
               "accepted_solution": "solved", "ping": "ping"}


def delivery(body, event, secret, *, event_id=1, instance=INSTANCE, signature=None, raw=None):
    """(raw body, headers) for Django's test client, as Discourse would send them."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {
        "HTTP_X_DISCOURSE_INSTANCE": instance,
        "HTTP_X_DISCOURSE_EVENT_ID": str(event_id),
        "HTTP_X_DISCOURSE_EVENT_TYPE": EVENT_TYPES.get(event, event),
        "HTTP_USER_AGENT": "Discourse/3.4.0",
    }
    if event != "ping":
        headers["HTTP_X_DISCOURSE_EVENT"] = event
    if signature is None and secret is not None:
        signature = "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()
    if signature:
        headers["HTTP_X_DISCOURSE_EVENT_SIGNATURE"] = signature
    return data, headers
