"""A test web server on 127.0.0.1 whose sitemap lists many pages (`/p/<i>.html`, each one of a small generated
site's articles), for the crawl frontier's tests: which URLs each run fetches, and how often each was asked."""

from __future__ import annotations

import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huunghi.corpus.site import build_site

ENTITY_BOMB = b"""<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://127.0.0.1/&b;</loc></url></urlset>"""


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up is not a test failure."""


class ListingServer:
    """`/sitemap.xml` lists `urls` pages `/p/0.html` … in that order, plus `extra` URLs it names (e.g. off the
    source's `follow` pattern); `/bomb.xml` is a sitemap with an entity bomb. `asked` counts GETs per path."""

    def __init__(self, urls: int, articles: int = 24, extra: tuple[str, ...] = ()) -> None:
        self.httpd = _Quiet(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        site = build_site(self.base, articles, seed=3)
        self.bodies = [site.files[path] for path in site.articles if path in site.files]
        self.urls = [f"{self.base}/p/{i}.html" for i in range(urls)]
        entries = "".join(f"<url><loc>{u}</loc></url>" for u in self.urls + [self.base + p for p in extra])
        self.sitemap = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>"
        ).encode()
        self.asked: Counter[str] = Counter()
        self.gone: set[str] = set()  # paths that answer 404 from now on (a page taken down)
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ListingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def pages_asked(self) -> Counter[str]:
        """GETs per page URL (robots.txt and sitemaps left out)."""
        with self.lock:
            return Counter({self.base + p: n for p, n in self.asked.items() if p.startswith("/p/")})

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.asked[path] += 1
                if path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                if path == "/sitemap.xml":
                    return self._send(200, server.sitemap, "application/xml")
                if path == "/bomb.xml":
                    return self._send(200, ENTITY_BOMB, "application/xml")
                if path in server.gone:
                    return self._send(404, b"<html><body>Gone</body></html>", "text/html")
                if path.startswith("/p/") and path.endswith(".html") and path[3:-5].isdigit():
                    body, content_type = server.bodies[int(path[3:-5]) % len(server.bodies)]
                    return self._send(200, body, content_type)
                return self._send(404, b"<html><body>Not found</body></html>", "text/html")

        return Handler
