"""Browser tests: Debian's Chromium, headless, driven by Playwright for Python against pytest-django's live server.

Run with `make test` (their own step, after the rest of the suite) or `pytest -m browser`; the rest of the suite
leaves them out (pytest.ini). Every page a test opens can be kept as a screenshot in var/screenshots/ (git-ignored)
with `screenshot(page, name)`. Pages must not log console errors: the `page` fixture fails a test that does.
"""
import os
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

# Playwright's sync API runs an event loop in the test's thread; Django refuses ORM calls from a thread with a
# running loop unless told the calls are synchronous on purpose (they are: the test waits for each one).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "a-long-test-password"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: `make test` installs Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context on the live server; fails the test if the page logs a console error."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error" and not _own_status(message, page) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"console errors: {errors}"


def _own_status(message, page) -> bool:
    """Chromium logs a page's own 4xx status (a 403 page, a form sent back with errors as 400) as a console error;
    the test asserts that status itself. A failed script, stylesheet or fetch (another URL) still counts."""
    return message.text.startswith("Failed to load resource") and message.location.get("url") == page.url


def screenshot(page, name: str) -> Path:
    """Keep the whole page as var/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def user_with_role(django_user_model):
    """user_with_role("marketing") -> a user in that role's group (admin: a superuser), password PASSWORD."""
    def make(role: str, *, username: str | None = None, **extra):
        username = username or f"{role}-user"
        if role == "admin":
            user = django_user_model.objects.create_superuser(username=username, password=PASSWORD, **extra)
        else:
            user = django_user_model.objects.create_user(username=username, password=PASSWORD, **extra)
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    return make


@pytest.fixture
def login(page, user_with_role):
    """login("community_manager") -> signs a new user of that role in through /accounts/login/; returns the user."""
    def sign_in(role: str, **extra):
        user = user_with_role(role, **extra)
        page.goto("/accounts/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state()
        return user

    return sign_in


@pytest.fixture
def signed_in(page, user_with_role, live_server):
    """signed_in("marketing") -> a new user of that role, signed in by session cookie (no login form needed)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from importlib import import_module

    def sign_in(role: str, **extra):
        user = user_with_role(role, **extra)
        session = import_module(settings.SESSION_ENGINE).SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                                   "url": live_server.url}])
        return user

    return sign_in
