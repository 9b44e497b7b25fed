"""HTTP content decoding whose output is capped as it is produced, whatever the layers.

httpx decodes a whole network chunk through every `Content-Encoding` layer before the caller sees a byte:
`gzip, gzip` of 1.8 KB on the wire became 2 GB in memory before a size cap could look at it. Here each
layer is a zlib decompressor asked for at most what is left of the cap (`decompress(data, max_length)`),
so no layer ever holds more than `cap + 1` bytes. Encodings zlib cannot decode are refused, not passed on.
"""

from __future__ import annotations

import zlib

GZIP_MAGIC = b"\x1f\x8b"


class TooLarge(ValueError):
    """The decoded bytes would exceed the cap."""


class BadEncoding(ValueError):
    """An encoding that is not supported, or data that is not valid in its encoding."""


class _Inflate:
    """One gzip or deflate layer (gzip: every member of a multi-member stream; deflate: zlib-wrapped or raw, as
    browsers accept both), its total output bounded by `cap`."""

    def __init__(self, kind: str, cap: int) -> None:
        self.kind, self.cap, self.produced = kind, cap, 0
        self._d = None
        self._pending = b""  # deflate: the first bytes, until there are two to tell zlib from raw
        self._done = False  # a deflate stream ended, or gzip data ended by bytes that start no member

    def _new(self, first: bytes):
        if self.kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        zlib_header = first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        parts = []
        if self._d is None and self.kind == "deflate":
            data, self._pending = self._pending + data, b""
            if len(data) < 2:
                self._pending = data
                return b""
        while data and not self._done:
            if self._d is None or self._d.eof:
                if self._d is not None and (self.kind != "gzip" or not data.startswith(GZIP_MAGIC[: len(data)])):
                    self._done = True  # trailing bytes after the stream: ignored, as browsers do
                    break
                self._d = self._new(data)
            try:
                out = self._d.decompress(data, self.cap - self.produced + 1)
            except zlib.error as exc:
                raise BadEncoding(f"invalid {self.kind} data: {exc}") from exc
            self.produced += len(out)
            if self.produced > self.cap:
                raise TooLarge(f"decoded {self.kind} data over {self.cap} bytes")
            parts.append(out)
            data = self._d.unused_data if self._d.eof else b""
        return b"".join(parts)


class _Identity:
    def feed(self, data: bytes) -> bytes:
        return data


def _layer(name: str, cap: int) -> _Inflate | _Identity:
    name = name.strip().lower()
    if name in ("gzip", "x-gzip"):
        return _Inflate("gzip", cap)
    if name == "deflate":
        return _Inflate("deflate", cap)
    if name in ("identity", ""):
        return _Identity()
    raise BadEncoding(f"content encoding {name!r} is not supported")


class Decoder:
    """Decodes a body given by raw chunks; `feed` returns the decoded bytes of each chunk, at most `cap` in all."""

    def __init__(self, content_encoding: str, cap: int) -> None:
        names = [n for n in content_encoding.split(",") if n.strip()]
        self.layers = [_layer(n, cap) for n in reversed(names)]  # the last applied is undone first
        self.cap, self.produced = cap, 0

    def feed(self, raw: bytes) -> bytes:
        for layer in self.layers:
            raw = layer.feed(raw)
        self.produced += len(raw)
        if self.produced > self.cap:
            raise TooLarge(f"body over {self.cap} bytes")
        return raw


def gunzip(data: bytes, cap: int) -> bytes:
    """A gzip file's content, at most `cap` bytes (TooLarge beyond), read without ever holding more."""
    return Decoder("gzip", cap).feed(data)
