"""A test web server on 127.0.0.1 serving a generated site (huunghi.corpus.site), with conditional requests
(ETag, Last-Modified) and the misbehaving pages the crawler must survive. It logs every request."""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huunghi.corpus.site import Site, build_site, last_modified

SLOW_SECONDS = 3.0
HUGE_BYTES = 6 * 1024 * 1024  # over the default 5 MiB cap


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A crawler that hangs up on a slow or huge page is expected here, not an error."""


class SiteServer:
    def __init__(self, pages: int = 24, seed: int = 7) -> None:
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.site: Site = build_site(self.base, pages, seed)
        self.log: list[tuple[str, int, dict]] = []  # (path, status, request headers)
        self.flaky_calls = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SiteServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, status: int | None = None) -> list[str]:
        return [path for path, code, _ in self.log if status is None or code == status]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body: bytes = b"", content_type: str = "text/html", headers=None) -> None:
                with server.lock:
                    server.log.append((self.path, status, dict(self.headers)))
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/broken/missing.html":
                    return self._send(404, b"<html><body>Not found</body></html>")
                if path == "/broken/flaky.html":
                    with server.lock:
                        server.flaky_calls += 1
                        first = server.flaky_calls == 1
                    if first:
                        return self._send(500, b"<html><body>Internal error</body></html>")
                    return self._file(*server.site.flaky)
                if path == "/broken/slow.html":
                    time.sleep(SLOW_SECONDS)
                    return self._send(200, b"<html><body>late</body></html>")
                if path == "/broken/away.html":
                    target = f"http://localhost:{server.port}{self.path}"  # same machine, another host name
                    return self._send(302, b"", headers={"Location": target})
                if path == "/broken/huge.html":
                    return self._huge()
                if path == "/broken/photo.html":
                    return self._send(200, b"\xff\xd8\xff\xe0" + b"0" * 1000, "image/jpeg")
                if path not in server.site.files:
                    return self._send(404, b"<html><body>Not found</body></html>")
                return self._file(*server.site.files[path])

            def _file(self, body: bytes, content_type: str) -> None:
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                modified = last_modified()
                if self.headers.get("If-None-Match") == etag or (
                    not self.headers.get("If-None-Match") and self.headers.get("If-Modified-Since") == modified
                ):
                    return self._send(304, b"", content_type, {"ETag": etag, "Content-Length": "0"})
                return self._send(200, body, content_type, {"ETag": etag, "Last-Modified": modified})

            def _huge(self) -> None:
                """No Content-Length: the crawler must stop reading at its cap by itself."""
                with server.lock:
                    server.log.append((self.path, 200, dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<p>" + b"x" * 65_536 + b"</p>"
                try:
                    for _ in range(HUGE_BYTES // len(chunk) + 1):
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.close_connection = True

        return Handler
