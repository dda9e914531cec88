"""The production runs (issue 15): real settings.prod stacks (gunicorn, Celery workers per queue, beat) as processes,
faults injected into them and into private PostgreSQL and Redis servers. Not part of `make test`: `make
test-production`, its own step of .ci/run (tests/conftest.py deselects them unless `-m production`)."""

import pytest
import redis

from deploy.stack import Stack, database_ensure, database_recreate, manage
from tests.production.harness import LOG_DIR, SHARED_PG, PrivatePostgres, PrivateRedis, free_port, stack_env


@pytest.fixture
def shared_services(request):
    """A fresh database on the shared PostgreSQL and two flushed databases of the shared Redis (broker, cache),
    migrated for settings.prod; named after the test."""
    name = "cs_prod_" + request.node.name.split("[")[0][-40:].lower()
    database_url = f"{SHARED_PG}/{name}"
    database_recreate(database_url)
    for db in (12, 13):
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    env = stack_env(database_url=database_url, broker_url="redis://127.0.0.1:6379/12",
                    cache_url="redis://127.0.0.1:6379/13")
    manage(env, "migrate", "--noinput")
    return env

@pytest.fixture
def private_services():
    """A PostgreSQL cluster and a redis-server of the test's own (so it may stop them), the database migrated for
    settings.prod: (cluster, redis server, stack environment). Both are removed at the end."""
    pg, redis_server = PrivatePostgres().init(), PrivateRedis()
    pg.start()
    redis_server.start()
    try:
        env = stack_env(database_url=f"{pg.url}/cs", broker_url=redis_server.url(0), cache_url=redis_server.url(1))
        database_ensure(env["DATABASE_URL"])
        manage(env, "migrate", "--noinput")
        yield pg, redis_server, env
    finally:
        redis_server.stop()
        pg.destroy()


@pytest.fixture
def stacks():
    """stacks(name, env, processes) -> a started Stack; every stack made is stopped at the end."""
    made: list[Stack] = []

    def make(name: str, env: dict, processes=None, **kwargs) -> Stack:
        stack = Stack(name, env=env, port=free_port(), log_dir=LOG_DIR, processes=processes)
        made.append(stack)
        return stack.start(**kwargs)

    yield make
    for stack in made:
        stack.stop()
