"""One HTTP client with the crawl's rules: safe targets, politeness, bounded work.

Safe: http(s) only; only the source's hosts; every address a host resolves to must be public unless the
source allows private ones; redirects are followed by hand, each hop checked the same way (so a redirect
never leaves the allowed hosts). Polite: robots.txt honoured (its crawl-delay too), per host at most
`concurrency` requests at once and `rate_per_second` requests a second, a named user agent,
conditional requests (ETag, Last-Modified).
Bounded: a deadline for the whole request (`timeout_seconds`, wall clock: DNS, connection, headers and
body of every redirect hop, however slowly they trickle; the crawl's own politeness waits not counted), a
size cap on the bytes received and on the bytes decoded as they are produced (huunghi.crawl.content_encoding),
a content-type check. Outcomes are values, never exceptions: a
`Fetched` with a problem code. A host that cannot be resolved or reached, or a robots.txt that cannot be
read for such a reason, is a retryable `network_error` / `timeout` / `http_5xx`, never a policy refusal.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from protego import Protego

from huunghi.crawl.content_encoding import BadEncoding, Decoder, TooLarge
from huunghi.crawl.sources import Source

MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
XML_TYPES = (
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/x-gzip",
    "application/gzip",
    "application/octet-stream",
)
RETRYABLE = ("timeout", "network_error", "http_5xx", "http_429")


@dataclass
class Fetched:
    url: str
    final_url: str
    status: int = 0
    body: bytes | None = None
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    problem: str | None = None  # None: a usable body (or 304 when not_modified)
    details: str = ""
    not_modified: bool = False

    @property
    def retryable(self) -> bool:
        return self.problem in RETRYABLE


@dataclass
class _Host:
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: threading.Semaphore = field(default_factory=threading.Semaphore)  # the host's concurrency cap
    robots_lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    robots: Protego | None = None
    robots_verdict: str | None = None  # "allow_all" / "disallow_all" when robots.txt could not be read
    robots_failure: Fetched | None = None  # robots.txt unreachable for a retryable reason, in this crawl


class _Deadline:
    """The wall-clock end of one request, redirects included: its DNS lookups, connections, headers and
    bodies of every hop. The crawl's own waits (a turn at the host, robots.txt read for a new host: a request
    of its own, with its own deadline) stop the clock: they are politeness, not the server's slowness."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    @contextlib.contextmanager
    def paused(self):
        start = time.monotonic()
        try:
            yield
        finally:
            self.at += time.monotonic() - start


def canonical(url: str) -> str:
    """Without the fragment; scheme and host lower-cased."""
    p = urlsplit(url)
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path or "/", p.query, ""))


def resolve(host: str, port: int | None, timeout: float) -> list[str]:
    """The host's addresses, within `timeout` seconds of wall clock (the system resolver has no bound of its
    own: a silent DNS server holds it for its retries). OSError (socket.gaierror, TimeoutError) when there are
    none (UnicodeError for a name that cannot be encoded); a resolver that overruns is left to finish in its
    own daemon thread."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a name IDNA cannot encode
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        raise TimeoutError(f"DNS did not answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return list(dict.fromkeys(info[4][0] for info in box["infos"]))


def refusal_reason(host: str, allow_private: bool, timeout: float = 20.0) -> str | None:
    """None when every address the host resolves to may be fetched; else why not (for the command line's
    early check of a URL; the fetcher files a host that cannot be resolved as a network error instead)."""
    try:
        addresses = resolve(host, None, timeout)
    except (OSError, UnicodeError) as exc:
        return f"cannot resolve {host}: {exc}"
    return _address_refusal(host, addresses, allow_private)


def _address_refusal(host: str, addresses: list[str], allow_private: bool) -> str | None:
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 scope id is not part of the address
        if not allow_private and not address.is_global:
            return f"{host} resolves to {address}, a private/loopback/link-local address (not allowed by the source)"
    return None


class AddressRefused(httpcore.ConnectError):
    """The host resolved, at connection time, to an address the source may not reach."""


class _Bounded(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake ends by the deadline of the request using it
    (httpx's timeouts restart on every byte, so headers trickled at 1 byte/s never time out by themselves).
    The sockets stay known to their backend so that `abort` can shut them down from another thread."""

    def __init__(self, stream: httpcore.NetworkStream, backend: CheckedAddresses) -> None:
        self.stream, self.backend = stream, backend
        backend.opened(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.backend.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.backend.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.backend.closed(self)
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        self.backend.closed(self)  # the TLS stream wraps the same socket and takes its place
        bound = self.backend.bound(timeout, httpcore.ConnectTimeout)
        return _Bounded(self.stream.start_tls(ssl_context, server_hostname, bound), self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)

    def shutdown(self) -> None:
        sock = self.stream.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.shutdown(socket.SHUT_RDWR)  # a read blocked in another thread returns at once


class CheckedAddresses(httpcore.NetworkBackend):
    """httpcore's network backend that resolves the host itself, checks every address, and connects to a
    checked one: the address used is the address checked. (A check made apart from the connection can be
    passed by a DNS answer that changes in between: rebinding.) TLS still names the host (SNI, certificate)."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._sync = httpcore.SyncBackend()
        self.deadline = threading.local()  # .at: the monotonic time by which this thread's request ends
        self.stopped = threading.Event()  # set by abort: no request is made or waited for any more
        self._streams: set[_Bounded] = set()
        self._lock = threading.Lock()

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """The timeout of one socket operation: never past the current request's deadline."""
        if self.stopped.is_set():
            raise httpcore.ReadError("the crawl was stopped")
        at = getattr(self.deadline, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise error("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def opened(self, stream: _Bounded) -> None:
        with self._lock:
            self._streams.add(stream)

    def closed(self, stream: _Bounded) -> None:
        with self._lock:
            self._streams.discard(stream)

    def abort(self) -> None:
        """Shut down every open connection and refuse new ones: requests in flight end at once."""
        self.stopped.set()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.shutdown()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # fmt: skip
        try:
            addresses = resolve(host, port, self.bound(timeout, httpcore.ConnectTimeout) or 20.0)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"cannot resolve {host}: {exc}") from exc
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if why := _address_refusal(host, addresses, self.allow_private):
            raise AddressRefused(why)
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                bound = self.bound(timeout, httpcore.ConnectTimeout)
                return _Bounded(self._sync.connect_tcp(address, port, bound, local_address, socket_options), self)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("the crawler does not use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


class Fetcher:
    """Thread-safe: the crawl's worker threads share it (and its per-host turns and robots.txt)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()
        self.requests = 0
        timeout = httpx.Timeout(source.timeout_seconds, connect=min(10.0, source.timeout_seconds))
        limits = httpx.Limits(max_connections=max(2, source.concurrency * 2))
        transport = httpx.HTTPTransport(limits=limits, trust_env=False)
        self._backend = CheckedAddresses(source.allow_private)
        transport._pool._network_backend = self._backend  # tested: test_crawl.py
        self.client = httpx.Client(
            follow_redirects=False,
            timeout=timeout,
            headers={"User-Agent": source.user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,  # no proxy or netrc from the environment: the source says where to go
            transport=transport,
        )

    def abort(self) -> None:
        """End every request in flight now and refuse new ones (thread-safe: e.g. on Ctrl-C, while worker
        threads fetch); their outcome is the problem `interrupted`."""
        self._backend.abort()

    def close(self) -> None:
        self.abort()
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- rules -------------------------------------------------------------------------------------
    def _host(self, host: str) -> _Host:
        with self._hosts_lock:
            if host not in self._hosts:
                self._hosts[host] = _Host(busy=threading.Semaphore(self.source.concurrency))
            return self._hosts[host]

    def refusal(self, url: str, deadline: _Deadline | None = None) -> tuple[str, str] | None:
        """(problem, details) when the URL may not be fetched at all; its DNS lookup ends by `deadline`."""
        p = urlsplit(url)
        if p.scheme not in ("http", "https"):
            return "scheme_not_allowed", f"only http(s) is fetched, not {p.scheme!r}"
        host = (p.hostname or "").lower()
        if host not in self.source.allowed_hosts:
            return "host_not_allowed", f"{host or url!r} is not among the source's hosts"
        deadline = deadline or _Deadline(self.source.timeout_seconds)
        try:
            if deadline.left() <= 0:
                raise TimeoutError(f"the request's deadline of {deadline.seconds:g} s passed")
            addresses = resolve(host, None, deadline.left())
        except TimeoutError as exc:
            return "timeout", f"cannot resolve {host}: {exc}"
        except (OSError, UnicodeError) as exc:  # not a refusal: the host may resolve on the next attempt
            return "network_error", f"cannot resolve {host}: {exc}"
        if why := _address_refusal(host, addresses, self.source.allow_private):
            return "address_not_allowed", why
        return None

    def _robots_failure(self, url: str) -> Fetched | None:
        """The URL's outcome when its host's robots.txt could not be read for a reason worth retrying
        (RFC 9309: an unreachable robots.txt means "disallow all", so the page waits for the retry)."""
        failed = self._host(urlsplit(url).hostname or "").robots_failure
        if failed is None:
            return None
        return Fetched(url, url, problem=failed.problem, details=f"robots.txt not read: {failed.details}")

    def _robots(self, url: str) -> tuple[bool, float]:
        """(allowed, crawl delay) for the URL by its host's robots.txt, read once per crawl."""
        p = urlsplit(url)
        state = self._host(p.hostname or "")
        with state.robots_lock:
            if state.robots_failure is not None:
                return False, 0.0
            if state.robots is None and state.robots_verdict is None:
                robots_url = f"{p.scheme}://{p.netloc}/robots.txt"
                got = self._get(robots_url, accept=None, robots=False)
                if got.retryable:
                    state.robots_failure = got  # for this crawl (one attempt); the retry asks again
                    return False, 0.0
                if got.status == 200 and got.body is not None:
                    state.robots = Protego.parse(got.body.decode("utf-8", "replace"))
                elif 400 <= got.status < 500:
                    state.robots_verdict = "allow_all"  # RFC 9309: no robots.txt, no restriction
                else:
                    state.robots_verdict = "disallow_all"  # unreachable: assume complete disallow
        if state.robots is not None:
            ua = self.source.user_agent
            return state.robots.can_fetch(url, ua), float(state.robots.crawl_delay(ua) or 0)
        return state.robots_verdict == "allow_all", 0.0

    def _wait_turn(self, host: str, delay: float) -> None:
        state = self._host(host)
        interval = max(1.0 / self.source.rate_per_second, delay)
        with state.lock:
            now = time.monotonic()
            at = max(now, state.next_at)
            state.next_at = at + interval
        if at > now:
            self._backend.stopped.wait(at - now)  # a polite wait that abort ends

    # -- fetching ----------------------------------------------------------------------------------
    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept=HTML_TYPES) -> Fetched:
        """Fetch one URL under every rule above, all of it by one deadline (timeout_seconds); the outcome says
        what happened."""
        url = canonical(url)
        if self._backend.stopped.is_set():  # what is still queued after an abort ends without a request
            return Fetched(url, url, problem="interrupted", details="the crawl was stopped")
        deadline = _Deadline(self.source.timeout_seconds)
        if refused := self.refusal(url, deadline):
            return Fetched(url, url, problem=refused[0], details=refused[1])
        with deadline.paused():
            allowed, delay = self._robots(url)
        if failed := self._robots_failure(url):
            return failed
        if not allowed:
            return Fetched(url, url, problem="robots_disallowed", details="robots.txt disallows this URL")
        return self._get(url, etag=etag, last_modified=last_modified, accept=accept, delay=delay, deadline=deadline)

    def _get(
        self, url: str, *, etag=None, last_modified=None, accept=HTML_TYPES, robots=True, delay=0.0,
        deadline: _Deadline | None = None,
    ) -> Fetched:  # fmt: skip
        """The URL and its redirects, each hop checked, all by `deadline` (else timeout_seconds from now)."""
        deadline = deadline or _Deadline(self.source.timeout_seconds)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            host = urlsplit(current).hostname or ""
            with deadline.paused():
                self._wait_turn(host, delay)
                self._host(host).busy.acquire()
            try:
                result = self._once(url, current, headers, accept, deadline)
            finally:
                self._host(host).busy.release()
            if isinstance(result, Fetched):
                return result
            target = canonical(urljoin(current, result))
            if refused := self.refusal(target, deadline):
                problem = refused[0] if refused[0] in RETRYABLE else "redirect_off_site"
                return Fetched(url, current, problem=problem, details=f"redirect to {target}: {refused[1]}")
            with deadline.paused():
                disallowed = robots and not self._robots(target)[0]
            if disallowed:
                if failed := self._robots_failure(target):
                    return Fetched(url, current, problem=failed.problem, details=f"redirect: {failed.details}")
                return Fetched(url, current, problem="robots_disallowed", details=f"redirect to {target} disallowed")
            current = target
        return Fetched(url, current, problem="too_many_redirects", details=f"more than {MAX_REDIRECTS} redirects")

    def _once(self, url: str, current: str, headers: dict, accept, deadline: _Deadline | None = None) -> Fetched | str:
        """One hop of a request, ended by the request's deadline. A redirect returns its Location (to be checked
        by the caller)."""
        if self._backend.stopped.is_set():
            return Fetched(url, current, problem="interrupted", details="the crawl was stopped")
        deadline = deadline or _Deadline(self.source.timeout_seconds)
        if deadline.left() <= 0:
            return Fetched(url, current, problem="timeout", details=f"not done within {deadline.seconds:g} s")
        self._backend.deadline.at = deadline.at  # every socket operation of this hop ends by then
        self.requests += 1
        try:
            with self.client.stream("GET", current, headers=headers) as resp:
                got = Fetched(url, current, status=resp.status_code)
                got.etag, got.last_modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
                if resp.is_redirect and resp.headers.get("Location"):
                    return resp.headers["Location"]
                if resp.status_code == 304:
                    got.not_modified = True
                    return got
                if resp.status_code == 429 or resp.status_code >= 500:
                    got.problem = "http_429" if resp.status_code == 429 else "http_5xx"
                    got.details = f"HTTP {resp.status_code}"
                    return got
                if resp.status_code >= 300:
                    got.problem, got.details = f"http_{resp.status_code}", f"HTTP {resp.status_code}"
                    return got
                content_type = resp.headers.get("Content-Type", "")
                got.content_type = content_type.split(";")[0].strip().lower()
                got.charset = resp.charset_encoding
                if accept and got.content_type not in accept:
                    got.problem = "wrong_content_type"
                    got.details = f"{got.content_type or 'no content type'} is not one of {', '.join(accept)}"
                    return got
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.source.max_bytes:
                    got.problem, got.details = "too_large", f"Content-Length {declared} > {self.source.max_bytes}"
                    return got
                return self._body(resp, got, deadline.at)
        except httpx.TimeoutException as exc:
            return Fetched(url, current, problem="timeout", details=f"{type(exc).__name__}: {exc}")
        except (httpx.TransportError, httpx.DecodingError) as exc:
            if isinstance(exc.__cause__, AddressRefused):  # at connection time: never retried
                return Fetched(url, current, problem="address_not_allowed", details=str(exc.__cause__))
            if self._backend.stopped.is_set():
                return Fetched(url, current, problem="interrupted", details="the crawl was stopped")
            return Fetched(url, current, problem="network_error", details=f"{type(exc).__name__}: {exc}")
        finally:
            self._backend.deadline.at = None

    def _body(self, resp: httpx.Response, got: Fetched, deadline: float) -> Fetched:
        """The body as sent (`iter_raw`), decoded here layer by layer so that neither the bytes received nor
        the bytes decoded ever exceed max_bytes, and the deadline is checked on every raw chunk."""
        cap = self.source.max_bytes
        try:
            decoder = Decoder(resp.headers.get("Content-Encoding", ""), cap)
        except BadEncoding as exc:
            got.problem, got.details = "unsupported_encoding", str(exc)
            return got
        chunks, size = [], 0
        try:
            for raw in resp.iter_raw():
                size += len(raw)
                if size > cap:
                    got.problem, got.details = "too_large", f"body over {cap} bytes"
                    return got
                if time.monotonic() > deadline:
                    got.problem, got.details = "timeout", f"body not read within {self.source.timeout_seconds} s"
                    return got
                chunks.append(decoder.feed(raw))
        except TooLarge as exc:
            got.problem, got.details = "too_large", str(exc)
            return got
        except BadEncoding as exc:
            got.problem, got.details = "bad_encoding", str(exc)
            return got
        got.body = b"".join(chunks)
        return got
