"""gunicorn's settings for this project, read automatically when gunicorn starts in the project root.

`gunicorn` alone (or `gunicorn -c gunicorn.conf.py`) serves settings.wsgi with 2 worker processes
(WEB_CONCURRENCY) of 32 threads each (GUNICORN_THREADS), the gthread worker. Why so many threads: small
ingest requests in flight in one process share one batch and one commit (community_scoring.services.coalesce),
so the more requests a process holds while one batch is stored, the fewer batches the box stores. A waiting
request costs a thread and no CPU. Measured on 2 cores, single-event POSTs from 32 clients: 4 threads 324/s,
16 threads 493/s, 32 threads 549/s. Large batches are stored on their own, in parallel threads.

Two pools (deploy/Procfile): ``web`` on GUNICORN_BIND (default 0.0.0.0:8000) and ``ingest`` (GUNICORN_POOL=ingest)
on GUNICORN_INGEST_BIND (default 0.0.0.0:8001), INGEST_CONCURRENCY processes (default 2). Both serve every URL;
the reverse proxy sends POST /api/v1/events/ and the Discourse webhook to the ingest pool (README, "Scaling"). Why:
a read in the same process as a batch being stored waits for the interpreter lock whenever it comes back from the
database, as long as the batch's Python holds it (parsing 1,000 events is ~12 ms in one C call). Measured in one
process on this 2-core machine, audience views while batches of 1,000 were stored alongside: p50/p99 28-39/174-202
ms with the batches in a thread of the same process, 16-18/32-38 ms with them in another process (none: 15-20/27-49).

Each thread that stores a batch keeps its own database connection (Django connections are per thread;
CONN_MAX_AGE keeps them): size PostgreSQL's max_connections for up to workers x threads, plus Celery's. gthread
also keeps client connections alive between requests (sync workers close each one). Every value can be
overridden on the command line or through the environment.
"""
import os

POOL = os.environ.get("GUNICORN_POOL", "web")
if POOL not in ("web", "ingest"):
    raise ValueError(f"GUNICORN_POOL must be web or ingest, not {POOL!r}")

wsgi_app = "settings.wsgi:application"
proc_name = f"community-scoring-{POOL}"
if POOL == "ingest":
    bind = os.environ.get("GUNICORN_INGEST_BIND", "0.0.0.0:8001")
    workers = int(os.environ.get("INGEST_CONCURRENCY", "2"))
else:
    bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# Seconds an idle keep-alive connection is held. Longer than the idle timeout of what sits in front (a load balancer's
# is usually 60 s; ingest clients reuse connections): when the server closes an idle connection first, a request sent
# on it at that moment gets no answer at all (seen in bench/load.py at 5 s: 2 of 600 batches). gthread parks idle
# connections in its poller, not in a thread.
keepalive = 75
backlog = 256

