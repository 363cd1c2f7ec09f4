"""A throwaway PostgreSQL 15 server for a benchmark, started the way scripts/test starts one:
initdb into a temporary directory (as the `postgres` OS user when run as root, since initdb
and postgres refuse root), trust auth, a free loopback port, fsync off; removed on stop."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from service import free_port  # bench/service.py

PG_BINDIR = Path(os.environ.get("LATTICE_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
USER = "lattice"


@dataclass
class Postgres:
    directory: Path
    port: int
    owner: str | None

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"


def start_postgres(database: str, settings: dict[str, str] | None = None) -> Postgres:
    if not (PG_BINDIR / "initdb").exists():
        raise RuntimeError(f"PostgreSQL 15 not found in {PG_BINDIR} (set LATTICE_PG_BINDIR)")
    owner = "postgres" if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="lattice-bench-pg."))
    (directory / "sock").mkdir()
    if owner:
        shutil.chown(directory, owner)
        shutil.chown(directory / "sock", owner)
    server = Postgres(directory, free_port(), owner)
    _run(
        directory,
        owner,
        "initdb",
        "-D",
        directory / "data",
        "-U",
        USER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    options = {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        **(settings or {}),
    }
    flags = " ".join(f"-c {name}={value}" for name, value in options.items())
    _run(
        directory,
        owner,
        "pg_ctl",
        "-D",
        directory / "data",
        "-l",
        directory / "server.log",
        "-w",
        "-t",
        "60",
        "-o",
        f"-p {server.port} -k {directory / 'sock'} {flags}",
        "start",
    )
    _run(
        directory, None, "createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", USER, database
    )
    return server


def _run(directory: Path, owner: str | None, program: str, *args: str | Path) -> None:
    command = [str(PG_BINDIR / program), *(str(arg) for arg in args)]
    if owner:
        command = ["runuser", "-u", owner, "--", *command]
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{program} failed: {done.stderr.strip() or done.stdout.strip()}")


def stop_postgres(server: Postgres) -> None:
    try:
        _run(
            server.directory,
            server.owner,
            "pg_ctl",
            "-D",
            server.directory / "data",
            "-m",
            "fast",
            "-w",
            "-t",
            "30",
            "stop",
        )
    finally:
        shutil.rmtree(server.directory, ignore_errors=True)
