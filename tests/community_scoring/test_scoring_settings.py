"""INTEREST_SCORING (services.interest_queue): who scores ingested batches, from the environment."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def scoring_setting(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "INTEREST_SCORING",
                                                              "CELERY_TASK_ALWAYS_EAGER")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.INTEREST_SCORING)"],
        cwd=ROOT, env={**base, "DJANGO_SETTINGS_MODULE": "settings.dev", **env}, capture_output=True, text=True)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "inline"),  # the embedded default: eager Celery, the request scores
    ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}, "worker"),  # a broker: Celery workers score
    ({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "INTEREST_SCORING": "inline"}, "inline"),
])
def test_scoring_mode_follows_the_broker_unless_set(env, expected):
    done = scoring_setting(**env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_an_unknown_scoring_mode_is_refused_at_startup():
    done = scoring_setting(INTEREST_SCORING="later")
    assert done.returncode != 0
    assert "INTEREST_SCORING must be 'inline' or 'worker'" in done.stderr
