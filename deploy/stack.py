"""A production stack as processes on this machine: what `make serve-prod`, the fault and two-stack runs
(tests/production/) and the load run (bench/load.py) start.

The processes are deploy/Procfile's (gunicorn, one Celery worker per queue, beat), read from that file so there is one
list of them. Each runs with settings.prod in a process group of its own, so that one can be SIGKILLed whole, as the
kernel's OOM killer or a lost host would do it (the prefork pool's children die with their parent's group). Celery
node names take the stack's name (``scoring@<name>``), so two stacks can share one broker, and a restarted worker is
known again by its name (jobs it was running are resumed: services.jobs).
"""
from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
PROCFILE = ROOT / "deploy" / "Procfile"
BIN = ROOT / ".venv" / "bin"


def procfile(path: Path = PROCFILE) -> dict[str, list[str]]:
    """The Procfile's processes: name -> argv (relative to the project root)."""
    processes = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = shlex.split(command)
    return processes


def database_ensure(url: str) -> None:
    """Create the PostgreSQL database ``url`` names when it does not exist."""
    base, name = url.rsplit("/", 1)
    conn = psycopg2.connect(f"{base}/postgres")
    try:
        conn.autocommit = True  # CREATE DATABASE runs outside a transaction
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def database_recreate(url: str) -> None:
    """Drop (closing its connections) and create the PostgreSQL database ``url`` names."""
    base, name = url.rsplit("/", 1)
    conn = psycopg2.connect(f"{base}/postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def manage(env: Mapping[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`manage.py <args>` with this environment (settings.prod unless it says otherwise); output captured."""
    return subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env={**os.environ, **env},
                          check=check, capture_output=True, text=True)


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_wait(port: int, *, timeout: float = 30.0, alive=None) -> None:
    """Wait until something accepts connections on 127.0.0.1:port (``alive()`` false: give up at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if alive is not None and not alive():
                raise RuntimeError(f"nothing will listen on port {port}: its process exited") from None
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class Stack:
    """One production stack: ``Stack("a", env=..., port=8101).start()``; ``kill("scoring")`` SIGKILLs one process
    group, ``start("scoring")`` brings it back, ``stop()`` ends them all (SIGTERM, then SIGKILL). The web pool
    listens on ``port``, the ingest pool on ``ingest_port`` (default: a free port), both on 127.0.0.1.

    ``env`` is merged over os.environ; it must name what settings.prod requires (DATABASE_URL, CELERY_BROKER_URL,
    CACHE_URL, DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS). ``processes`` picks Procfile entries (default: all);
    logs go to ``log_dir``/<stack>-<process>.log.
    """

    def __init__(self, name: str, *, env: Mapping[str, str], port: int, log_dir: Path,
                 processes: Iterable[str] | None = None, ingest_port: int | None = None):
        self.name, self.port, self.log_dir = name, port, Path(log_dir)
        self.ingest_port = ingest_port or free_port()
        self.env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings.prod", **env,
                    "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_INGEST_BIND": f"127.0.0.1:{self.ingest_port}"}
        commands = procfile()
        self.commands = {p: commands[p] for p in (processes or commands)}
        self.running: dict[str, subprocess.Popen] = {}
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def argv(self, process: str) -> list[str]:
        return [part.replace("%h", self.name) for part in self.commands[process]]

    def node(self, process: str) -> str | None:
        """The Celery node name of a worker process (None for the others)."""
        argv = self.argv(process)
        return argv[argv.index("-n") + 1] if "-n" in argv else None

    def start(self, *processes: str, wait: bool = True) -> Stack:
        for process in processes or self.commands:
            log = open(self.log_dir / f"{self.name}-{process}.log", "ab")  # noqa: SIM115 - the child keeps it
            self.running[process] = subprocess.Popen(self.argv(process), cwd=ROOT, env=self.env, stdout=log,
                                                     stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
        if wait:
            self.wait_ready(*(processes or self.commands))
        return self

    def wait_ready(self, *processes: str, timeout: float = 60.0) -> None:
        """Wait for gunicorn to listen and each worker to answer a ping over the broker."""
        from celery import Celery

        for pool, port in (("web", self.port), ("ingest", self.ingest_port)):
            if pool in processes:
                port_wait(port, timeout=timeout, alive=lambda pool=pool: self.running[pool].poll() is None)
        nodes = {self.node(p) for p in processes if self.node(p)}
        if not nodes:
            return
        app = Celery("stack-ping", broker=self.env["CELERY_BROKER_URL"])
        deadline = time.monotonic() + timeout
        try:
            while nodes and time.monotonic() < deadline:
                for answer in app.control.ping(destination=sorted(nodes), timeout=1.0):
                    nodes -= set(answer)
        finally:
            app.close()
        if nodes:
            raise TimeoutError(f"workers {sorted(nodes)} did not answer within {timeout:.0f} s; logs in {self.log_dir}")

    def kill(self, process: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process's whole group and wait for its leader."""
        proc = self.running.pop(process)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for process, proc in list(self.running.items()):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process, proc in list(self.running.items()):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            else:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # what the leader left behind (pool children)
                except ProcessLookupError:
                    pass
            del self.running[process]

    def logs(self, process: str, tail: int = 4000) -> str:
        path = self.log_dir / f"{self.name}-{process}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""
