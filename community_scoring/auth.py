"""Who is calling: API tokens with a role, or a logged-in Django user, and what each role may do.

Roles: admin (everything), community_manager (read members and leaderboards; emails and export only when
granted), marketing (read audience view and export; post outcomes), ingest (post events and outcomes). A Django
superuser is an admin; other users get the role named by one of their groups.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from community_scoring.models import ApiToken
from community_scoring.services.tokens import token_digest

ROLES = tuple(ApiToken.Role.values)


@dataclass(frozen=True)
class TokenPrincipal:
    """The caller behind an API token, as request.user."""

    token_id: int
    name: str
    role: str
    can_export_pii: bool

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    @property
    def pk(self) -> str:
        return f"token:{self.token_id}"

    def __str__(self) -> str:
        return f"token {self.name} ({self.role})"


# digest -> (monotonic expiry, revocation generation, principal, token): valid tokens only, per process, for at
# most API_TOKEN_CACHE_SECONDS (0 disables it). Saving or deleting any token through the ORM (admin, services)
# bumps a generation number in the shared cache (Redis in production); every process compares it with the one its
# entries were made under on each request, so a revoked token stops working in every worker at once, not seconds
# later (issue 15: it kept working in the other worker for up to 5 s).
_cache: dict[str, tuple[float, int, TokenPrincipal, ApiToken]] = {}
_cache_lock = threading.Lock()
_GENERATION_KEY = "api-token-generation"


def _generation() -> int:
    return caches[DEFAULT_CACHE_ALIAS].get(_GENERATION_KEY) or 0


def token_cache_clear(**_) -> None:
    """A token changed: forget cached tokens here, and make every other process forget theirs."""
    shared = caches[DEFAULT_CACHE_ALIAS]
    if not shared.add(_GENERATION_KEY, 1, timeout=None):
        try:
            shared.incr(_GENERATION_KEY)
        except ValueError:  # evicted between add and incr
            shared.set(_GENERATION_KEY, 1, timeout=None)
    with _cache_lock:
        _cache.clear()


def token_signals_connect() -> None:
    """Any process that changes tokens through the ORM (web, admin, shell, management commands) tells the others:
    connected at startup by the app config, not by whoever imports this module first."""
    post_save.connect(token_cache_clear, sender=ApiToken, dispatch_uid="api_token_cache_save")
    post_delete.connect(token_cache_clear, sender=ApiToken, dispatch_uid="api_token_cache_delete")


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <token>` against ApiToken digests (cached a few seconds per process, see _cache)."""

    keyword = "Token"

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            # A wrong or revoked token: limited per client address, so guessing tokens is slow.
            client_rate_check(request, scope="failed_auth", rate=settings.API_FAILED_AUTH_THROTTLE_RATE)
            raise

    def authenticate_credentials(self, key: str):
        digest = token_digest(key)
        ttl = float(getattr(settings, "API_TOKEN_CACHE_SECONDS", 5))
        generation = _generation() if ttl > 0 else 0
        cached = _cache.get(digest)
        if cached is not None and cached[0] > time.monotonic() and cached[1] == generation:
            return cached[2], cached[3]
        try:
            token = ApiToken.objects.get(digest=digest, is_active=True)
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or inactive token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # no signal: keeps the cache
            token.last_used_at = now
        principal = TokenPrincipal(
            token_id=token.pk, name=token.name, role=token.role, can_export_pii=token.can_export_pii
        )
        if ttl > 0:
            with _cache_lock:
                if len(_cache) > 10_000:
                    _cache.clear()
                _cache[digest] = (time.monotonic() + ttl, generation, principal, token)
        return principal, token


def request_role(request) -> str | None:
    """The caller's role, or None for an anonymous caller or a user with no role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if isinstance(user, TokenPrincipal):
        return user.role
    if user.is_superuser:
        return ApiToken.Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    for role in ROLES:
        if role in names:
            return role
    return None


def request_can_see_pii(request) -> bool:
    """Emails and CSV export: admins, marketing, and community managers granted PII access."""
    role = request_role(request)
    if role in (ApiToken.Role.ADMIN, ApiToken.Role.MARKETING):
        return True
    if role == ApiToken.Role.COMMUNITY_MANAGER:
        user = request.user
        if isinstance(user, TokenPrincipal):
            return user.can_export_pii
        return user.has_perm("community_scoring.view_member_pii") or user.groups.filter(name="pii").exists()
    return False


class _RolePermission(permissions.BasePermission):
    roles: tuple[str, ...] = ()
    message = "Your role may not do this."

    def has_permission(self, request, view) -> bool:
        return request_role(request) in self.roles


class HasRole(_RolePermission):
    """Any of the roles (a signed-in user outside every role group has none)."""

    roles = ROLES


class IsAdminRole(_RolePermission):
    roles = (ApiToken.Role.ADMIN,)


class CanReadMembers(_RolePermission):
    roles = (ApiToken.Role.ADMIN, ApiToken.Role.COMMUNITY_MANAGER, ApiToken.Role.MARKETING)


class CanIngest(_RolePermission):
    roles = (ApiToken.Role.ADMIN, ApiToken.Role.INGEST)


class CanRecordOutcomes(_RolePermission):
    """Outcomes (sales decisions, conversions) come from CRMs and marketing tools as well as ingest clients."""

    roles = (ApiToken.Role.ADMIN, ApiToken.Role.MARKETING, ApiToken.Role.INGEST)


class CanExport(permissions.BasePermission):
    message = "Export needs the marketing or admin role, or a community manager granted PII access."

    def has_permission(self, request, view) -> bool:
        return request_can_see_pii(request)


# Throttle histories, per process, when the cache is Django's per-process LocMemCache: DRF keeps one list of
# timestamps per token in the cache, and LocMemCache pickles it on every get and set, so at the ingest rate
# (120,000/min) each request paid for unpickling and re-pickling up to tens of thousands of floats. A deque held
# here is the same sliding log, in the same place (this process), at O(1) per request. A shared cache (Redis,
# memcached) keeps DRF's own path, so the limit stays shared across workers there.
_histories: dict[str, deque[float]] = {}
_histories_lock = threading.Lock()


def throttle_histories_clear() -> None:
    with _histories_lock:
        _histories.clear()


def _shared_window_take(key: str, limit: int, duration: int, now: float) -> float | None:
    """Count one request against ``limit`` per ``duration`` seconds in the shared cache; None when allowed, else
    the seconds to wait. A sliding-window counter: this window's count plus the previous window's, weighted by
    how much of it still overlaps the last ``duration`` seconds. Counts are atomic increments (Redis INCR), so
    every worker and every machine draws on one budget; a refused request is not counted."""
    shared = caches[DEFAULT_CACHE_ALIAS]
    window = int(now // duration)
    current, previous = f"{key}:{window}", f"{key}:{window - 1}"
    counts = shared.get_many([current, previous])
    overlap = 1.0 - (now - window * duration) / duration
    if counts.get(current, 0) + counts.get(previous, 0) * overlap >= limit:
        return max(1.0, (window + 1) * duration - now)
    shared.add(current, 0, timeout=2 * duration + 1)
    try:
        taken = shared.incr(current)
    except ValueError:  # evicted meanwhile
        shared.set(current, 1, timeout=2 * duration + 1)
        taken = 1
    if taken + counts.get(previous, 0) * overlap > limit:  # others took the last places meanwhile
        shared.decr(current)
        return max(1.0, (window + 1) * duration - now)
    return None


def _uses_shared_cache() -> bool:
    # Django's per-process LocMemCache cannot be shared: there the in-process sliding log serves (tests, dev).
    return not isinstance(caches[DEFAULT_CACHE_ALIAS], LocMemCache)


class ApiTokenRateThrottle(throttling.SimpleRateThrottle):
    """Per-credential request rate (API_THROTTLE_RATE, default 6000/min): on a shared cache (Redis), one budget
    for all workers (_shared_window_take); on the per-process LocMemCache, a sliding log per process."""

    scope = "token"

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        if _uses_shared_cache():
            self.key = self.get_cache_key(request, view)
            if self.key is None:
                return True
            self._wait = _shared_window_take(self.key, self.num_requests, self.duration, self.timer())
            return self._wait is None
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        with _histories_lock:
            history = _histories.get(self.key)
            if history is None:
                if len(_histories) > 10_000:
                    _histories_prune(self.timer() - self.duration)
                history = _histories[self.key] = deque()
            self.now = now = self.timer()
            horizon = now - self.duration
            while history and history[-1] <= horizon:  # newest first, as DRF's list
                history.pop()
            if len(history) >= self.num_requests:
                self.history = list(history)  # for wait(): the Retry-After header
                return self.throttle_failure()
            history.appendleft(now)
            return True

    def wait(self):
        if _uses_shared_cache():
            return getattr(self, "_wait", None)
        return super().wait()

    def get_cache_key(self, request, view):
        user = request.user
        if user is None or not user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": str(user.pk)}


class _ClientThrottle(ApiTokenRateThrottle):
    """A rate per client address (DRF's get_ident: REMOTE_ADDR, or X-Forwarded-For behind NUM_PROXIES proxies)."""

    def __init__(self, scope: str, rate: str) -> None:
        self.scope, self.rate = scope, rate
        self.num_requests, self.duration = self.parse_rate(rate)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def client_rate_check(request, *, scope: str, rate: str | None) -> None:
    """Count a request of a caller without valid credentials against its address's rate; 429 past it."""
    if not rate:
        return
    throttle = _ClientThrottle(scope, rate)
    if not throttle.allow_request(request, None):
        raise exceptions.Throttled(wait=throttle.wait())


class AnonymousRateLimit(authentication.BaseAuthentication):
    """Last of the authentication classes: reached only by callers no other class authenticated (no token, no
    session). Authenticates nobody; counts them per client address (API_ANON_THROTTLE_RATE) so anonymous
    floods get 429 like everyone else instead of unlimited 401s."""

    def authenticate(self, request):
        client_rate_check(request, scope="anon", rate=settings.API_ANON_THROTTLE_RATE)
        return None


def _histories_prune(horizon: float) -> None:
    """Forget the tokens with no request inside the window (caller holds the lock)."""
    for key in [k for k, h in _histories.items() if not h or h[0] <= horizon]:
        del _histories[key]
