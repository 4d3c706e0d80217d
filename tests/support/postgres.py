"""A real PostgreSQL 15 as a child process, on a free port, in its own data folder.

    with Postgres() as pg:
        engine = create_engine(pg.url)   # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres

PostgreSQL refuses to run as root (CI runs as root): then the cluster is made and run as the
unprivileged `nobody` through runuser, in a folder under /tmp that `nobody` owns (a pytest tmp
folder is owner-only, so nobody could not enter it). Trust authentication on loopback only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from support.mosquitto import free_port

_COUNTER = itertools.count(1)
PG_BIN = Path(os.environ.get("POH_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresError(RuntimeError):
    pass


def _as_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresError("running as root and runuser is missing: cannot start PostgreSQL")
    return [runuser, "-u", "nobody", "--"]


class Postgres:
    def __init__(self) -> None:
        if not (PG_BIN / "initdb").is_file():
            raise PostgresError(f"PostgreSQL not found in {PG_BIN} "
                                "(apt-get install postgresql-15)")
        self.folder = Path(tempfile.mkdtemp(prefix="poh-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._prefix = _as_user()
        if self._prefix:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.folder, nobody.pw_uid, nobody.pw_gid)
        self.log_path = self.folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        """A fresh, empty database on this server; its SQLAlchemy URL."""
        import sqlalchemy as sa

        name = f"t{next(_COUNTER)}"
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._prefix, *args], capture_output=True, text=True,
                              timeout=120, check=False, cwd=self.folder)
        if done.returncode != 0:
            raise PostgresError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-1500:]}")

    def start(self, timeout: float = 60.0) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c max_connections=50")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path),
                  "-o", opts, "-w", "-t", str(int(timeout)), "start")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=0.5):
                return
            time.sleep(0.1)
        raise PostgresError(f"PostgreSQL did not listen on {self.port}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __enter__(self) -> Postgres:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
