"""Django's database sessions, with the session cookie read as the client's input it is.

Django looks any cookie value of 8+ characters up in the session table; a NUL in it makes psycopg2 raise
ValueError (a 500 on every page and a misleading 400 in the API). Django's own keys are 32 lowercase letters and
digits, so any other value is no session (anonymous), without a query.
"""
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and key.isascii() and key.isalnum()
