"""SafeFetcher against a real local HTTP server: policy, limits, redirects, caching."""

from __future__ import annotations

import socket

import pytest

from tests.verification.support import LocalServer
from verification.fetch import FetchError, FetchSettings, MappedFetcher, SafeFetcher

LOOPBACK = FetchSettings(allow_insecure_http=True, allow_private_networks=True, timeout_seconds=2)


async def test_fetches_a_document(server: LocalServer) -> None:
    url = server.serve("/f/doc", {"hello": "world"}, headers={"content-type": "application/json"})
    async with SafeFetcher(LOOPBACK) as fetcher:
        document = await fetcher.fetch(url)
    assert document.status == 200
    assert document.body == b'{"hello": "world"}'
    assert document.content_type == "application/json"


async def test_loopback_refused_when_private_networks_are_disallowed(server: LocalServer) -> None:
    url = server.serve("/f/private", "secret")
    async with SafeFetcher(FetchSettings(allow_insecure_http=True)) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.reason == "private_address"
    assert "127.0.0.1" in str(caught.value)
    assert server.hits.get("/f/private") is None  # never connected


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"]
)
async def test_private_and_link_local_addresses_refused(url: str) -> None:
    async with SafeFetcher(FetchSettings(allow_insecure_http=True)) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.reason == "private_address"


async def test_plain_http_refused_by_default(server: LocalServer) -> None:
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.serve("/f/http", "x"))
    assert caught.value.reason == "scheme"
    assert "not an https URL" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/x", "https://u:p@example.org/"]
)
async def test_other_schemes_and_credentials_refused(url: str) -> None:
    async with SafeFetcher() as fetcher:
        with pytest.raises(FetchError):
            await fetcher.fetch(url)


async def test_body_cut_off_at_max_bytes(server: LocalServer) -> None:
    # No content-length: the limit must hold while streaming.
    url = server.serve("/f/big", b"x" * 5000, headers={"content-length": "5000"})
    settings = FetchSettings(allow_insecure_http=True, allow_private_networks=True, max_bytes=1000)
    async with SafeFetcher(settings) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert caught.value.reason == "too_large"


async def test_redirects_are_followed_and_limited(server: LocalServer) -> None:
    target = server.serve("/f/target", "here")
    server.serve("/f/hop1", b"", status=302, headers={"location": "/f/target"})
    async with SafeFetcher(LOOPBACK) as fetcher:
        document = await fetcher.fetch(server.base + "/f/hop1")
    assert document.url == target and document.body == b"here"

    server.serve("/f/loop", b"", status=302, headers={"location": "/f/loop"})
    async with SafeFetcher(LOOPBACK) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.base + "/f/loop")
    assert caught.value.reason == "too_many_redirects"


async def test_redirect_into_a_blocked_prefix_is_refused(server: LocalServer) -> None:
    server.serve("/admin/keys", "private")
    server.serve("/f/sneaky", b"", status=302, headers={"location": "/admin/keys"})
    settings = FetchSettings(
        allow_insecure_http=True,
        allow_private_networks=True,
        blocked_prefixes=(server.base + "/admin/",),
    )
    async with SafeFetcher(settings) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.base + "/f/sneaky")
    assert caught.value.reason == "blocked"
    assert server.hits.get("/admin/keys") is None


async def test_http_errors_are_fetch_errors(server: LocalServer) -> None:
    async with SafeFetcher(LOOPBACK) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(server.base + "/f/missing")
    assert caught.value.reason == "http_status" and caught.value.status == 404


async def test_max_age_is_cached_until_it_expires(server: LocalServer) -> None:
    url = server.serve("/f/cached", "v1", headers={"cache-control": "max-age=60"})
    now = [1000.0]
    async with SafeFetcher(LOOPBACK, clock=lambda: now[0]) as fetcher:
        await fetcher.fetch(url)
        await fetcher.fetch(url)
        assert server.hits["/f/cached"] == 1
        now[0] += 61
        await fetcher.fetch(url)
    assert server.hits["/f/cached"] == 2


async def test_no_store_is_never_cached(server: LocalServer) -> None:
    url = server.serve("/f/nostore", "v1", headers={"cache-control": "no-store, max-age=60"})
    async with SafeFetcher(LOOPBACK) as fetcher:
        await fetcher.fetch(url)
        await fetcher.fetch(url)
    assert server.hits["/f/nostore"] == 2


async def test_etag_revalidation_reuses_the_cached_body(server: LocalServer) -> None:
    url = server.serve("/f/etag", "list-v1", headers={"etag": '"v1"', "cache-control": "no-cache"})
    async with SafeFetcher(LOOPBACK) as fetcher:
        first = await fetcher.fetch(url)
        second = await fetcher.fetch(url)
    assert first.body == second.body == b"list-v1"
    assert server.hits["/f/etag"] == 2
    assert server.requests[-1].get("if-none-match") == '"v1"'
    assert server.requests[-1].get("accept-encoding") == "identity"  # no gzip bombs


async def test_mapped_fetcher_serves_only_its_map() -> None:
    fetcher = MappedFetcher({"https://example.org/a": "{}"})
    assert (await fetcher.fetch("https://example.org/a")).body == b"{}"
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("https://example.org/b")
    assert caught.value.reason == "not_mapped"


# Offline failures are described in plain words, never with the operating system's text
# ("[Errno -2] Name or service not known"), and keep their machine-readable reason.
RAW_SYSTEM_TEXT = ("Errno", "errno", "Name or service", "Connect call failed", "attempts failed")


def _plain(error: FetchError) -> str:
    message = str(error)
    assert not any(raw in message for raw in RAW_SYSTEM_TEXT), message
    return message


@pytest.mark.parametrize("settings", [FetchSettings(), LOOPBACK], ids=["checked", "unchecked"])
async def test_a_host_that_does_not_exist_is_named_plainly(settings: FetchSettings) -> None:
    # .invalid never resolves (RFC 6761 §6.4). With private networks refused the verifier
    # looks the host up itself first; otherwise httpx does when it connects.
    url = "https://issuer.district9.invalid/.well-known/did.json"
    async with SafeFetcher(settings) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(url)
    assert _plain(caught.value) == (
        f"{url} could not be fetched: cannot look up the host issuer.district9.invalid "
        "(no answer from DNS)"
    )
    assert caught.value.reason == ("dns" if settings is not LOOPBACK else "network")


async def test_a_refused_connection_is_named_plainly() -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        url = f"http://127.0.0.1:{port}/status/1"
        async with SafeFetcher(LOOPBACK) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
    assert _plain(caught.value) == (
        f"{url} could not be fetched: could not connect to 127.0.0.1:{port} "
        "(the connection was refused)"
    )
    assert caught.value.reason == "network"


async def test_a_silent_server_times_out_plainly() -> None:
    # The kernel completes the handshake for a listening socket nobody accepts from, so
    # the request is sent and no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/status/1"
        settings = FetchSettings(
            allow_insecure_http=True, allow_private_networks=True, timeout_seconds=0.3
        )
        async with SafeFetcher(settings) as fetcher:
            with pytest.raises(FetchError) as caught:
                await fetcher.fetch(url)
    assert _plain(caught.value) == f"{url} could not be fetched: timed out after 0.3 s"
    assert caught.value.reason == "timeout"
