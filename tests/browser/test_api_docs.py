"""/api/docs/ in Chromium: Swagger UI draws the operations from the project's own files, offline, and "Try it out"
calls the API with the browser's session."""
from tests.browser.conftest import screenshot


def _requests_kept_local(page, live_server) -> list[str]:
    """Every request the page makes, in order; any request leaving the live server is aborted (and listed)."""
    seen: list[str] = []

    def handle(route):
        url = route.request.url
        seen.append(url)
        if url.startswith(live_server.url + "/") or url.startswith("data:"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", handle)
    return seen


def test_docs_render_offline_for_a_signed_in_admin(page, signed_in, live_server):
    seen = _requests_kept_local(page, live_server)
    signed_in("admin")
    page.goto("/api/docs/")
    members = page.locator("#operations-tag-members")
    members.wait_for()
    assert members.is_visible()
    assert page.locator(".opblock-summary-path", has_text="/api/v1/members/").first.is_visible()
    screenshot(page, "api-docs")
    outside = [url for url in seen if not url.startswith(live_server.url + "/")]
    assert not outside, f"requests leaving the live server: {outside}"
    # The page, its stylesheet and two scripts from the static files, and the schema.
    assert any(url.endswith("/swagger-ui-bundle.js") for url in seen)
    assert any("/api/schema/" in url for url in seen)


def test_try_it_out_calls_the_api_with_the_session(page, signed_in, live_server):
    _requests_kept_local(page, live_server)
    signed_in("admin")
    page.goto("/api/docs/")
    operation = page.locator("#operations-members-members_list")
    operation.locator(".opblock-summary").first.click()
    operation.locator(".try-out__btn").click()
    with page.expect_response(lambda response: "/api/v1/members/" in response.url) as answer:
        operation.locator(".execute").click()
    assert answer.value.status == 200
    operation.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
    screenshot(page, "api-docs-try-it-out")


def test_try_it_out_writes_carry_the_csrf_token(page, signed_in, live_server):
    """A write from the docs page passes the session's CSRF check (a write without the token is a 403)."""
    _requests_kept_local(page, live_server)
    signed_in("admin")
    page.goto("/api/docs/")
    operation = page.locator("#operations-recompute-recompute_interest_start")
    operation.locator(".opblock-summary").first.click()
    operation.locator(".try-out__btn").click()
    with page.expect_response(lambda response: response.url.endswith("/api/v1/recompute/interest/")) as answer:
        operation.locator(".execute").click()
    assert answer.value.status == 202, answer.value.text()
