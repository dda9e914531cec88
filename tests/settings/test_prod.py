"""settings.prod refuses to start without a real secret key and allowed hosts (it used to pass `check` with an
empty key and then answer 500 to everything, and to fall back to localhost without DJANGO_ALLOWED_HOSTS)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 20 + "-production-secret-0123456789"


def _check(**env_vars) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="settings.prod", DATABASE_URL="sqlite:////tmp/cs-prod-settings.sqlite3",
               CACHE_URL="redis://127.0.0.1:6379/1")
    env.update(env_vars)
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("key", ["", "   ", "short-key", "dev-insecure-community-scoring-key",
                                 "django-insecure-" + "x" * 40])
def test_production_refuses_a_missing_or_weak_secret_key(key):
    result = _check(DJANGO_SECRET_KEY=key, DJANGO_ALLOWED_HOSTS="scores.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be a random secret" in result.stderr


@pytest.mark.parametrize("hosts", [None, "", " , "])
def test_production_refuses_to_start_without_allowed_hosts(hosts):
    extra = {} if hosts is None else {"DJANGO_ALLOWED_HOSTS": hosts}
    result = _check(DJANGO_SECRET_KEY=GOOD_KEY, **extra)
    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS must name the host names" in result.stderr


def test_production_refuses_a_per_process_cache():
    result = _check(DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="scores.example.com", CACHE_URL="locmemcache://")
    assert result.returncode != 0
    assert "CACHE_URL must name a shared cache" in result.stderr


def test_production_starts_with_a_real_key_and_hosts():
    result = _check(DJANGO_SECRET_KEY=GOOD_KEY, DJANGO_ALLOWED_HOSTS="scores.example.com,127.0.0.1")
    assert result.returncode == 0, result.stderr
