import pytest
from rest_framework.test import APIClient

from community_scoring.services.tokens import token_issue


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def token_client(db):
    """token_client(role) -> an APIClient authenticated with a fresh token of that role."""
    counter = {"n": 0}

    def make(role: str, *, can_export_pii: bool = False) -> APIClient:
        counter["n"] += 1
        _, raw = token_issue(name=f"{role}-{counter['n']}", role=role, can_export_pii=can_export_pii)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
        return client

    return make
