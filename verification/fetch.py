"""The verifier's only way out to the network: `SafeFetcher`, one bounded httpx client.

A verifier fetches what strangers point it at (DID documents, key documents, status lists,
credential URLs), so every request is checked as if hostile: https only (unless
`allow_insecure_http`), every resolved address of the host must be public as
`net.addresses` judges it (unless `allow_private_networks`), the same checks on
every redirect hop, configured prefixes (e.g. the service's own admin routes) refused,
bodies streamed and cut at `max_bytes`, a short timeout, few redirects. Responses are cached
in memory by their Cache-Control `max-age` (`no-store` honoured) and revalidated with `ETag`.

Known limit: httpx resolves the host again when it connects, so a DNS server that answers
differently within milliseconds (DNS rebinding) is not fully excluded; deploy behind an
egress proxy or firewall that also refuses private ranges.

`Fetcher` is the protocol the resolvers and status checker use; `MappedFetcher` serves a
fixed URL -> document map (offline fixtures, the operator's trust folder in front of the
network, or documents the service already holds).
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from net.addresses import (
    is_public_address,
    parse_address,
)
from net.lru import LruCache

DEFAULT_ACCEPT: Final = "application/json, application/ld+json, */*;q=0.1"
_MAX_AGE: Final = re.compile(r"(?:^|,)\s*(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class FetchError(Exception):
    """A document could not be fetched; `reason` is a stable code, the message a sentence in
    plain words (reports are public: never the operating system's error text)."""

    def __init__(self, reason: str, message: str, *, url: str, status: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.url = url
        self.status = status


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Fetcher(Protocol):
    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        """The document at `url`; FetchError when it cannot be had."""
        ...


@dataclass(frozen=True)
class FetchSettings:
    allow_insecure_http: bool = False
    allow_private_networks: bool = False
    max_bytes: int = 1024 * 1024
    timeout_seconds: float = 5.0
    max_redirects: int = 3
    blocked_prefixes: tuple[str, ...] = ()
    cache_entries: int = 512
    user_agent: str = "Lattice-Verifier/1.0 (+Open Badges 3.0)"


@dataclass
class _CacheEntry:
    document: FetchedDocument
    fresh_until: float
    etag: str | None


class SafeFetcher:
    """The shared outbound client; use one per process and `aclose()` it at shutdown."""

    def __init__(
        self,
        settings: FetchSettings = FetchSettings(),
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._cache: LruCache[str, _CacheEntry] = LruCache(settings.cache_entries)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(self.settings.timeout_seconds),
                # identity: a compressed body could inflate past max_bytes inside one chunk.
                headers={"user-agent": self.settings.user_agent, "accept-encoding": "identity"},
                trust_env=False,  # no proxy or .netrc from the environment
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> SafeFetcher:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        cached = self._cache.get(url)
        if cached is not None and cached.fresh_until > self._clock():
            return cached.document
        current = url
        for _ in range(self.settings.max_redirects + 1):
            await self._check_url(current)
            response = await self._get(current, accept, cached if current == url else None)
            if response is None and cached is not None:  # 304: the cached copy is good
                return cached.document
            if isinstance(response, str):
                current = response
                continue
            if response is None:
                raise FetchError("http_status", f"{current} answered 304 unasked", url=url)
            self._store(url, response)
            return response
        raise FetchError(
            "too_many_redirects",
            f"{url} redirects more than {self.settings.max_redirects} times",
            url=url,
        )

    async def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        allowed = ("https", "http") if self.settings.allow_insecure_http else ("https",)
        if parts.scheme not in allowed:
            raise FetchError("scheme", f"{url} is not an https URL; refused", url=url)
        if not parts.hostname or parts.username or parts.password:
            raise FetchError("invalid_url", f"{url} has no host, or carries credentials", url=url)
        for prefix in self.settings.blocked_prefixes:
            if url.startswith(prefix):
                raise FetchError("blocked", f"{url} is not a place the verifier fetches", url=url)
        if self.settings.allow_private_networks:
            return
        timeout = self.settings.timeout_seconds
        try:
            infos = await asyncio.wait_for(
                asyncio.get_running_loop().getaddrinfo(
                    parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
                ),
                timeout,
            )
        except TimeoutError:
            why = f"cannot look up the host {parts.hostname} (DNS did not answer within "
            raise FetchError("dns", _unfetched(url, why + f"{timeout:g} s)"), url=url) from None
        except OSError:
            raise FetchError("dns", _unfetched(url, _no_dns(parts.hostname)), url=url) from None
        for info in infos:
            address = parse_address(str(info[4][0]))
            if not is_public_address(address):
                raise FetchError(
                    "private_address",
                    f"{url} resolves to {address}, a private, loopback or reserved address; "
                    "refused",
                    url=url,
                )

    async def _get(
        self, url: str, accept: str, cached: _CacheEntry | None
    ) -> FetchedDocument | str | None:
        """The document, the next URL of a redirect, or None for 304 Not Modified."""
        headers = {"accept": accept}
        if cached is not None and cached.etag:
            headers["if-none-match"] = cached.etag
        try:
            async with self._http().stream("GET", url, headers=headers) as response:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError("http_status", f"{url} redirects nowhere", url=url)
                    return str(urljoin(url, str(location)))
                if response.status_code == 304 and cached is not None:
                    cached.fresh_until = self._clock() + _max_age(response.headers)
                    return None
                if response.status_code != 200:
                    raise FetchError(
                        "http_status",
                        f"{url} answered HTTP {response.status_code}",
                        url=url,
                        status=response.status_code,
                    )
                body = await self._read(response, url)
                return FetchedDocument(
                    url=url,
                    status=response.status_code,
                    content_type=response.headers.get("content-type", ""),
                    body=body,
                    headers=dict(response.headers),
                )
        except httpx.TimeoutException:
            why = f"timed out after {self.settings.timeout_seconds:g} s"
            raise FetchError("timeout", _unfetched(url, why), url=url) from None
        except httpx.HTTPError as error:
            raise FetchError(
                "network", _unfetched(url, _network_failure(url, error)), url=url
            ) from None

    async def _read(self, response: httpx.Response, url: str) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise FetchError("too_large", f"{url} is larger than {limit} bytes", url=url)
        body = bytearray()
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) > limit:
                raise FetchError("too_large", f"{url} is larger than {limit} bytes", url=url)
        return bytes(body)

    def _store(self, url: str, document: FetchedDocument) -> None:
        control = document.headers.get("cache-control", "").lower()
        etag = document.headers.get("etag")
        if "no-store" in control or (not etag and _max_age(document.headers) == 0):
            self._cache.discard(url)
            return
        fresh = 0 if "no-cache" in control else _max_age(document.headers)
        self._cache.put(url, _CacheEntry(document, self._clock() + fresh, etag))


# Reports are read by people, not operators: say what failed in words, never the OS's text
# ("[Errno -2] Name or service not known").
_CONNECT_FAILURES: Final = {
    errno.ECONNREFUSED: "the connection was refused",
    errno.ECONNRESET: "the connection was reset",
    errno.ENETUNREACH: "the network is unreachable",
    errno.EHOSTUNREACH: "the host is unreachable",
    errno.ECONNABORTED: "the connection was aborted",
}


def _unfetched(url: str, why: str) -> str:
    return f"{url} could not be fetched: {why}"


def _no_dns(host: str | None) -> str:
    return f"cannot look up the host {host} (no answer from DNS)"


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _network_failure(url: str, error: httpx.HTTPError) -> str:
    """A plain description of why httpx could not get an answer from `url`."""
    parts = urlsplit(url)
    address = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    causes = _causes(error)
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return _no_dns(parts.hostname)
    for cause in causes:
        if isinstance(cause, OSError) and cause.errno in _CONNECT_FAILURES:
            return f"could not connect to {address} ({_CONNECT_FAILURES[cause.errno]})"
    if isinstance(error, httpx.ConnectError):
        return f"could not connect to {address}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{address} did not answer with valid HTTP"
    return f"the connection to {address} failed"


def _max_age(headers: Mapping[str, str]) -> int:
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return int(match.group(1)) if match else 0


class MappedFetcher:
    """Serves documents from a fixed map (offline fixtures, the service's own documents)."""

    def __init__(self, documents: Mapping[str, bytes | str], *, fallback: Fetcher | None = None):
        self._documents = {
            url: body.encode("utf-8") if isinstance(body, str) else body
            for url, body in documents.items()
        }
        self._fallback = fallback

    async def fetch(self, url: str, *, accept: str = DEFAULT_ACCEPT) -> FetchedDocument:
        body = self._documents.get(url)
        if body is not None:
            return FetchedDocument(url, 200, "application/json", body)
        if self._fallback is not None:
            return await self._fallback.fetch(url, accept=accept)
        raise FetchError("not_mapped", f"{url} is not available offline", url=url)
