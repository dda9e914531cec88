"""gunicorn's settings for this project, read automatically when gunicorn starts in the project root.

`gunicorn` alone (or `gunicorn -c gunicorn.conf.py`) serves settings.wsgi with 2 worker processes
(WEB_CONCURRENCY) of 4 threads each (GUNICORN_THREADS), the gthread worker. Why threads: a single-event POST
waits for PostgreSQL to flush its commit to the WAL; a sync worker idles through that wait, while gthread lets
the other threads of the process run and lets PostgreSQL flush several commits at once (group commit). Each thread keeps
its own persistent database connection (Django connections are per thread; CONN_MAX_AGE keeps them), so
PostgreSQL sees workers x threads connections. gthread also keeps client connections alive between requests
(sync workers close each one). More threads than 4 did not help on 2 cores: the GIL and the CPU are shared.
Every value can be overridden on the command line or through the environment.
"""
import os

wsgi_app = "settings.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = 5  # seconds an idle keep-alive connection is held (ingest clients reuse connections)
backlog = 256

