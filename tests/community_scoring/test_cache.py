"""The shared cache's Redis backend (community_scoring.cache): Django's, with one client per pool."""
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/12"  # the rate limit tests' database


@pytest.fixture
def redis_cache():
    with override_settings(CACHES={"default": {"BACKEND": "community_scoring.cache.RedisCache", "LOCATION": REDIS}}):
        from django.core.cache import cache
        cache.clear()
        yield cache
        cache.clear()


def test_a_redis_cache_url_selects_this_backend():
    code = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
                            env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "settings.test", "CACHE_URL": REDIS})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "community_scoring.cache.RedisCache"


def test_one_client_serves_every_call(redis_cache):
    client = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b", write=True) is client
    redis_cache.set("k", {"v": 1}, 30)
    assert redis_cache.get("k") == {"v": 1}
    assert redis_cache.get_many(["k", "missing"]) == {"k": {"v": 1}}
    assert redis_cache.add("n", 0, 30) and not redis_cache.add("n", 5, 30)
    with pytest.raises(ValueError):
        redis_cache.incr("absent")


def test_threads_sharing_the_client_count_every_increment(redis_cache):
    redis_cache.add("counter", 0, 60)

    def take():
        for _ in range(200):
            redis_cache.incr("counter")

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert redis_cache.get("counter") == 1600
