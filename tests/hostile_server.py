"""A misbehaving web server on 127.0.0.1, written on raw sockets so that it can do what no polite server
does: trickle its headers or a gzip header comment one byte at a time, send `Content-Encoding: gzip, gzip`
bombs, and serve listings that are entity bombs, XXE or gzip bombs. Every trickle stops when the server
does, so a client that never hangs up cannot keep a test alive. It logs each request's path."""

from __future__ import annotations

import functools
import gzip
import socketserver
import struct
import threading
import zlib

TRICKLE_SECONDS = 0.2  # between bytes: well under any read timeout, so only a whole-request deadline ends it
TRICKLE_FOR = 30.0  # at most, so that old code under test eventually gets an answer
BOMB_BYTES = 128 * 1024 * 1024  # decoded size of the double-gzip page
SLOW_HOP_SECONDS = 1.2  # before each answer of /redirect/slow/N

ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
    + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&%s;" % bytes([97 + i])) * 10) for i in range(8))
    + b']>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://127.0.0.1/&i;</loc>'
    b"</url></urlset>"
)
XXE = (
    b'<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>'
)


def gzip_zeros(size: int) -> bytes:
    """A gzip stream of `size` zero bytes (whole MiB), made without holding or compressing them all: after a
    full flush the compressor starts afresh, so every MiB of zeros compresses to the same deflate segment."""
    packer, mib = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS), bytes(1 << 20)
    first = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    segment = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    assert segment == first, "zlib no longer repeats itself: make the bomb the slow way"
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_block = b"\x03\x00"  # an empty last block
    return header + segment * (size >> 20) + final_block + struct.pack("<II", crc, size & 0xFFFFFFFF)


@functools.cache
def double_gzip_bomb() -> bytes:
    """BOMB_BYTES of zeros gzipped twice: about a kilobyte on the wire."""
    return gzip.compress(gzip_zeros(BOMB_BYTES), 9)


@functools.cache
def gzip_sitemap_bomb() -> bytes:
    """64 MiB of zeros (over the sitemap protocol's 50 MiB) in about 64 KB."""
    return gzip_zeros(64 * 1024 * 1024)


def gzip_header_with_comment() -> bytes:
    """The start of a gzip member whose FCOMMENT field is still open: no decoded byte can come out of it."""
    return b"\x1f\x8b\x08\x10" + b"\x00\x00\x00\x00" + b"\x00\x03"


def page(n: int) -> bytes:
    return f"<html><head><title>Trang {n}</title></head><body><p>Đoạn {n}.</p></body></html>".encode()


class HostileServer:
    """`base`: http://127.0.0.1:PORT. Paths: /page/N.html, /trickle/headers, /trickle/gzip-comment,
    /trickle/body, /redirect/slow/N (N redirects, then a page, each answer after SLOW_HOP_SECONDS),
    /redirect/fast/N (the same at once),
    /bomb/double-gzip, /bomb/br, /listing/{entity-bomb,xxe,gzip-bomb,garbage,empty}.xml,
    /sitemap.xml (two good pages and the three trickling ones), /robots.txt (404: allow all)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.log: list[str] = []
        self.arrived = threading.Condition()
        self.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler(), bind_and_activate=True)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HostileServer:
        double_gzip_bomb(), gzip_sitemap_bomb()  # made before serving: a request must not wait for them
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for(self, path: str, timeout: float) -> bool:
        """True once a request for `path` has arrived (within `timeout` seconds)."""
        with self.arrived:
            return self.arrived.wait_for(lambda: path in self.log, timeout)

    def sitemap(self) -> bytes:
        paths = ["/page/1.html", "/trickle/headers", "/trickle/gzip-comment", "/trickle/body", "/page/2.html"]
        urls = "".join(f"<url><loc>{self.base}{p}</loc></url>" for p in paths)
        xmlns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        return f'<?xml version="1.0"?><urlset xmlns="{xmlns}">{urls}</urlset>'.encode()

    def _handler(self):
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                try:
                    path = self.rfile.readline(8192).split()[1].decode()
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    with server.arrived:
                        server.log.append(path)
                        server.arrived.notify_all()
                    self.serve(path)
                except (OSError, IndexError):
                    pass  # the client hung up: expected of a crawler that gives up

            def send(self, status: str, body: bytes, content_type: str = "text/html", extra: str = "") -> None:
                head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                self.wfile.write((head + extra + "Connection: close\r\n\r\n").encode() + body)

            def trickle(self, prefix: bytes, byte: bytes = b"x") -> None:
                self.wfile.write(prefix)
                self.wfile.flush()
                ends = TRICKLE_FOR
                while ends > 0 and not server.stop.wait(TRICKLE_SECONDS):
                    self.wfile.write(byte)
                    self.wfile.flush()
                    ends -= TRICKLE_SECONDS

            def serve(self, path: str) -> None:
                ok = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                if path.startswith("/page/"):
                    return self.send("200 OK", page(int(path.rsplit("/", 1)[1].split(".")[0])))
                if path == "/sitemap.xml":
                    return self.send("200 OK", server.sitemap(), "application/xml")
                if path == "/trickle/headers":
                    return self.trickle(ok.encode() + b"X-Slow: ")
                if path == "/trickle/gzip-comment":
                    head = ok + "Content-Encoding: gzip\r\nConnection: close\r\n\r\n"
                    return self.trickle(head.encode() + gzip_header_with_comment())
                if path == "/trickle/body":
                    return self.trickle((ok + "Content-Length: 100000\r\nConnection: close\r\n\r\n").encode())
                if path.startswith(("/redirect/slow/", "/redirect/fast/")):
                    chain, left = path.rsplit("/", 1)
                    if chain.endswith("slow") and server.stop.wait(SLOW_HOP_SECONDS):
                        return None
                    if left == "0":
                        return self.send("200 OK", page(0))
                    return self.send("302 Found", b"", extra=f"Location: {chain}/{int(left) - 1}\r\n")
                if path == "/bomb/double-gzip":
                    return self.send("200 OK", double_gzip_bomb(), extra="Content-Encoding: gzip, gzip\r\n")
                if path == "/bomb/br":
                    return self.send("200 OK", b"\x0b\x02\x80hello\x03", extra="Content-Encoding: br\r\n")
                if path == "/listing/entity-bomb.xml":
                    return self.send("200 OK", ENTITY_BOMB, "application/xml")
                if path == "/listing/xxe.xml":
                    return self.send("200 OK", XXE, "application/xml")
                if path == "/listing/gzip-bomb.xml.gz":
                    return self.send("200 OK", gzip_sitemap_bomb(), "application/gzip")
                if path == "/listing/garbage.xml":
                    return self.send("200 OK", bytes(range(256)) * 8, "application/xml")
                if path == "/listing/empty.xml":
                    empty = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'
                    return self.send("200 OK", empty, "application/xml")
                return self.send("404 Not Found", b"not here")

        return Handler
