"""`make serve-prod`: the production stack on this machine, against the local PostgreSQL and Redis.

settings.prod with gunicorn, a Celery worker per queue and beat (deploy/Procfile, run by honcho). Every variable
already set in the environment wins; the defaults below point at the local services. The secret key is generated
once and kept in var/prod_secret_key (settings.prod refuses to start without a real one). Creates the database
when missing, migrates and collects static files first.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.stack import database_ensure

DEFAULTS = {
    "DJANGO_SETTINGS_MODULE": "settings.prod",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/community_scoring",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_COOKIES": "false",  # plain http on localhost; behind TLS in a real deployment
    "GUNICORN_BIND": "127.0.0.1:8000",
    "GUNICORN_INGEST_BIND": "127.0.0.1:8001",  # the ingest pool (gunicorn.conf.py)
    "INTEREST_SCORING": "worker",
}


def secret_key() -> str:
    path = ROOT / "var" / "prod_secret_key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def main() -> int:
    env = {**DEFAULTS, **os.environ}
    env.setdefault("DJANGO_SECRET_KEY", secret_key())
    if env["DATABASE_URL"].startswith("postgres"):
        database_ensure(env["DATABASE_URL"])
    python = str(ROOT / ".venv" / "bin" / "python")
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "--verbosity", "0"]):
        subprocess.run([python, "manage.py", *command], cwd=ROOT, env=env, check=True)
    print(f"Serving settings.prod on http://{env['GUNICORN_BIND']}/ (ingest pool: http://{env['GUNICORN_INGEST_BIND']}"
          "/api/v1/events/) with a worker per queue and beat (Ctrl-C stops them all).", flush=True)
    os.chdir(ROOT)
    os.execve(str(ROOT / ".venv" / "bin" / "honcho"),
              ["honcho", "start", "-f", "deploy/Procfile", "-d", str(ROOT)], env)


if __name__ == "__main__":
    sys.exit(main())
