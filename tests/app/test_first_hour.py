"""The first hour of an operator: `lattice serve --port` alone gives working DIDs, one data
folder holds the database and the master key wherever the command runs, a master key that
cannot open the stored keys stops everything before it writes, and without SMTP the mail
(sign-in codes, claim links) is on the service's log.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socketserver
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from badges.issuers.issuers import (
    IssuerDetails,
    KeyVault,
    create_issuer,
)
from badges.wallets.mail import (
    Mailer,
    SmtpSettings,
)
from keys.master import MasterKey
from storage.session import create_engine, create_session_factory, transaction
from tests.processes import LATTICE, free_port, wait_healthy

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    """Only the data folder is set: the database and the public URL are the defaults."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("LATTICE_")}
    return clean | {"LATTICE_DATA_DIR": str(data_dir), "LATTICE_LOG_LEVEL": "info"}


def lattice(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LATTICE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@contextmanager
def serving(env: dict[str, str], *args: str) -> Iterator[tuple[str, list[str]]]:
    """`lattice serve ARGS` until the block ends; yields its URL and the lines it has written
    so far (a list that grows while it runs)."""
    port = args[args.index("--port") + 1]
    process = subprocess.Popen(
        [LATTICE, "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)  # type: ignore[arg-type]
        yield f"http://127.0.0.1:{port}", output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        reader.join(timeout=5)


def written(output: list[str], pattern: str) -> re.Match[str]:
    """The first match of `pattern` in what the service wrote, waiting up to 10 s for it."""
    deadline = time.monotonic() + 10
    while (found := re.search(pattern, "".join(output))) is None:
        assert time.monotonic() < deadline, f"{pattern!r} not in: {''.join(output)}"
        time.sleep(0.05)
    return found


def new_master_key() -> str:
    return MasterKey.generate().to_text()


# --- the public URL -------------------------------------------------------------------------


def test_serve_with_only_a_port_serves_dids_with_that_port(env: dict[str, str], data_dir: Path):
    assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
    port = str(free_port())

    with serving(env, "--port", port) as (base, output):
        did = httpx.get(f"{base}/issuers/nea/did.json", timeout=5).json()
        profile = httpx.get(f"{base}/issuers/nea", timeout=5).json()

    assert did["id"] == profile["id"] == f"did:web:127.0.0.1%3A{port}:issuers:nea"
    assert did["verificationMethod"][0]["id"].startswith(f"did:web:127.0.0.1%3A{port}:")
    said = "\n".join(output)
    assert f"public URL http://127.0.0.1:{port} (made from host and port" in said
    assert f"database sqlite+aiosqlite:///{data_dir / 'lattice.db'}" in said
    assert f"data dir {data_dir} (master key: {data_dir / 'master.key'}" in said


def test_an_explicit_public_url_wins_over_host_and_port(env: dict[str, str]):
    assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
    port = str(free_port())
    explicit = env | {"LATTICE_PUBLIC_URL": "https://badges.example.org"}

    with serving(explicit, "--port", port) as (base, output):
        profile = httpx.get(f"{base}/issuers/nea", timeout=5).json()

    assert profile["id"] == "did:web:badges.example.org:issuers:nea"
    assert "public URL https://badges.example.org (LATTICE_PUBLIC_URL)" in "\n".join(output)


@pytest.mark.parametrize(
    ("host", "port", "public_url"),
    [
        ("127.0.0.1", 9000, "http://127.0.0.1:9000"),
        ("0.0.0.0", 8000, "http://127.0.0.1:8000"),  # noqa: S104 (a wildcard is reached by loopback)
        ("::", 8000, "http://127.0.0.1:8000"),
        ("::1", 8080, "http://localhost:8080"),  # did:web cannot hold an IPv6 literal
        ("Badges.Example.Org", 80, "http://badges.example.org"),
    ],
)
def test_the_public_url_is_made_from_host_and_port_when_unset(
    host: str, port: int, public_url: str
):
    settings = Settings(_env_file=None, host=host, port=port)  # type: ignore[call-arg]

    assert settings.public_url == public_url
    assert settings.public_url_derived


def test_an_ipv6_host_needs_an_explicit_public_url():
    with pytest.raises(ValueError, match="set LATTICE_PUBLIC_URL"):
        Settings(_env_file=None, host="2001:db8::1")  # type: ignore[call-arg]

    explicit = Settings(_env_file=None, host="2001:db8::1", public_url="https://b.example.org/")  # type: ignore[call-arg]
    assert explicit.public_url == "https://b.example.org"
    assert not explicit.public_url_derived


# --- one data folder ------------------------------------------------------------------------


def test_the_data_dir_holds_the_database_and_the_master_key_from_any_folder(
    env: dict[str, str], data_dir: Path, tmp_path: Path
):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()

    created = lattice(env, "issuer", "create", "nea", "--name", "NEA", cwd=here)
    client = lattice(env, "client", "create", "--issuer", "nea", "--name", "p", cwd=elsewhere)

    assert created.returncode == 0, created.stderr
    assert client.returncode == 0, client.stderr  # the issuer made from `here` is found
    assert sorted(path.name for path in data_dir.iterdir()) >= ["lattice.db", "master.key"]
    assert list(here.iterdir()) == list(elsewhere.iterdir()) == []


def test_the_default_data_dir_does_not_follow_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for variable in ("LATTICE_DATA_DIR", "LATTICE_DATABASE_URL", "XDG_DATA_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    # Run from this checkout (scripts/serve, an editable install): its var/ folder.
    assert settings.data_dir == CHECKOUT / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{CHECKOUT / 'var' / 'lattice.db'}"


def test_a_relative_data_dir_is_fixed_when_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)

    settings = Settings(_env_file=None, data_dir="state")  # type: ignore[call-arg]

    assert settings.data_dir == tmp_path / "state"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'state' / 'lattice.db'}"


# --- a master key that cannot open the stored keys ------------------------------------------


def refused(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""
    return completed.stderr


def test_a_wrong_master_key_stops_serve_and_the_key_commands(env: dict[str, str], data_dir: Path):
    assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
    wrong = env | {"LATTICE_MASTER_KEY": new_master_key(), "LATTICE_PORT": str(free_port())}

    served = subprocess.run(
        [LATTICE, "serve"], env=wrong, capture_output=True, text=True, timeout=60, check=False
    )
    rotated = lattice(wrong, "keys", "rotate", "--issuer", "nea")
    created = lattice(wrong, "issuer", "create", "dp", "--name", "Digital Promise")

    for said in (refused(served), refused(rotated), refused(created)):
        assert "error: the master key (LATTICE_MASTER_KEY) opens none of the signing keys" in said
        assert f"sqlite+aiosqlite:///{data_dir / 'lattice.db'}" in said
        assert "Set LATTICE_DATA_DIR to the folder holding the master.key that sealed them" in said
    listed = lattice(env, "client", "list", "--issuer", "dp")
    assert listed.returncode == 2 and "no issuer 'dp'" in listed.stderr  # nothing was written


def test_a_database_whose_master_key_file_is_missing_is_refused_without_making_one(
    env: dict[str, str], data_dir: Path, tmp_path: Path
):
    assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
    moved = env | {
        "LATTICE_DATA_DIR": str(tmp_path / "moved"),
        "LATTICE_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'lattice.db'}",
    }

    said = refused(lattice(moved, "keys", "rotate", "--issuer", "nea"))

    assert f"no master key: {tmp_path / 'moved' / 'master.key'} does not exist" in said
    assert "holds the keys of 1 issuer(s)" in said
    assert not (tmp_path / "moved" / "master.key").exists()


def test_an_unusable_master_key_text_is_named_without_being_shown(env: dict[str, str]):
    said = refused(
        lattice(env | {"LATTICE_MASTER_KEY": "not-a-key"}, "keys", "rotate", "--issuer", "x")
    )

    assert "error: LATTICE_MASTER_KEY: master key text must be 43 characters" in said
    assert "not-a-key" not in said


async def test_issuers_sealed_with_another_key_are_named_and_rotation_repairs_them(
    env: dict[str, str], data_dir: Path
):
    assert lattice(env, "issuer", "create", "nea", "--name", "NEA").returncode == 0
    # An issuer sealed under another master key, as the old cwd-relative database allowed.
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'lattice.db'}")
    try:
        async with transaction(create_session_factory(engine)) as session:
            await create_issuer(session, KeyVault(MasterKey.generate()), IssuerDetails("dp", "DP"))
    finally:
        await engine.dispose()

    first = await asyncio.to_thread(lattice, env, "keys", "rotate", "--issuer", "dp")
    second = await asyncio.to_thread(lattice, env, "keys", "rotate", "--issuer", "nea")

    assert first.returncode == 0, first.stderr
    assert "warning: the master key cannot open the keys of issuer(s) dp:" in first.stderr
    assert second.returncode == 0 and "warning" not in second.stderr


# --- mail without SMTP ----------------------------------------------------------------------


@dataclass
class SmtpSink:
    """A loopback SMTP server that keeps what it is sent (no TLS, no auth)."""

    port: int
    messages: list[str] = field(default_factory=list)


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        sink: SmtpSink = self.server.sink  # type: ignore[attr-defined]
        self.wfile.write(b"220 sink ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n")
                body = b"".join(iter(self.rfile.readline, b".\r\n"))
                sink.messages.append(body.decode())
                self.wfile.write(b"250 kept\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSession) as server:
        sink = SmtpSink(server.server_address[1])
        server.sink = sink  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield sink
        server.shutdown()


def _no_tls(port: int) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, None, None, starttls=False)


async def test_without_smtp_the_mail_is_logged_and_with_smtp_it_never_is(
    sessions: async_sessionmaker[AsyncSession],
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG, logger="lattice")
    body = f"Your sign-in code is {uuid.uuid4().hex[:6]}."

    async with transaction(sessions) as session:
        await Mailer("Lattice <a@b.c>").send(session, "ana@example.org", "Code", body)
    logged_without = caplog.text
    caplog.clear()
    async with transaction(sessions) as session:
        sent = await Mailer("Lattice <a@b.c>", _no_tls(smtp_sink.port)).send(
            session, "ana@example.org", "Code", body
        )

    assert body in logged_without and "no SMTP server set" in logged_without
    assert sent.sent_at is not None and body in smtp_sink.messages[0]
    assert body not in caplog.text


async def test_a_failed_smtp_delivery_is_logged_without_the_message(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger="lattice")
    body = f"Your sign-in code is {uuid.uuid4().hex[:6]}."

    async with transaction(sessions) as session:
        row = await Mailer("Lattice <a@b.c>", _no_tls(free_port())).send(
            session, "ana@example.org", "Code", body
        )

    assert row.sent_at is None and row.error
    assert "mail to ana@example.org failed" in caplog.text and body not in caplog.text


def _ask_for_a_code(base: str, address: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=10)
    page = browser.get("/teacher/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    asked = browser.post("/teacher/sign-in", data={"email": address, "csrf": csrf.group(1)})
    assert asked.status_code == 200, asked.text
    return browser


def test_the_development_service_prints_the_sign_in_code_on_its_log(env: dict[str, str]):
    address = f"ana-{uuid.uuid4().hex[:6]}@example.org"

    with serving(env, "--port", str(free_port())) as (base, output):
        browser = _ask_for_a_code(base, address)
        code = written(
            output,
            rf"mail to {re.escape(address)} \(no SMTP server set[^\n]*\n"
            r"Your sign-in code is (\d{6})",
        )
        signed_in = browser.post(
            "/teacher/sign-in/code",
            data={
                "email": address,
                "code": code.group(1),
                "csrf": browser.cookies.get("lattice_csrf", ""),
            },
        )

    assert signed_in.status_code == 303, signed_in.text


def test_a_service_with_smtp_sends_the_code_and_never_logs_it(
    env: dict[str, str], smtp_sink: SmtpSink
):
    smtp = env | {
        "LATTICE_SMTP_HOST": "127.0.0.1",
        "LATTICE_SMTP_PORT": str(smtp_sink.port),
        "LATTICE_SMTP_STARTTLS": "false",
    }

    with serving(smtp, "--port", str(free_port())) as (base, output):
        _ask_for_a_code(base, "ana@example.org")
        # Written once the request is answered, so after the mail went to the sink.
        written(output, r"POST /teacher/sign-in HTTP/1.1\" 200")

    code = re.search(r"Your sign-in code is (\d{6})", smtp_sink.messages[0])
    assert code, smtp_sink.messages
    assert code.group(1) not in "".join(output)
    assert "sign-in code" not in "".join(output)
