"""The browser harness itself: Chromium starts, the live server answers, the admin login works."""
from tests.browser.conftest import screenshot


def test_an_admin_signs_in_to_the_admin_site(page, user_with_role):
    user_with_role("admin", username="boss")
    page.goto("/admin/login/")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    assert "Site administration" in page.content()
    screenshot(page, "admin-index")


def test_a_session_cookie_signs_a_role_in_without_the_form(page, signed_in):
    signed_in("admin", username="root")
    page.goto("/admin/")
    assert "Site administration" in page.content()
