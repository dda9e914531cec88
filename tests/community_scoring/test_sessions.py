"""A session cookie is the client's input: any value is a session or none, never an error (issue 11)."""
import pytest

from community_scoring.services.tokens import token_issue


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["\x00abcdefgh", "abc\x00defghijklmnop", "é" * 32, "'; DROP TABLE x; --"],
                         ids=["nul-first", "nul-inside", "non-ascii", "quote"])
@pytest.mark.parametrize("url, anonymous", [("/admin/", 302), ("/api/v1/members/", 401),
                                            ("/api/v1/forum/categories/", 401)])
def test_a_malformed_session_cookie_is_no_session(client, cookie, url, anonymous):
    client.cookies["sessionid"] = cookie
    response = client.get(url)
    assert response.status_code == anonymous


@pytest.mark.django_db
def test_a_token_works_whatever_the_session_cookie(client):
    _, raw = token_issue(name="t", role="admin")
    client.cookies["sessionid"] = "\x00abcdefgh"
    assert client.get("/api/v1/members/", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200


@pytest.mark.django_db
def test_a_real_session_still_signs_in(admin_client):
    assert admin_client.get("/admin/").status_code == 200
