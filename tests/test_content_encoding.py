"""Capped content decoding (huunghi.crawl.content_encoding): what browsers decode comes out the same, byte by
byte or all at once, and nothing is decoded past the cap."""

from __future__ import annotations

import gzip
import zlib

import pytest

from huunghi.crawl.content_encoding import BadEncoding, Decoder, TooLarge, gunzip

TEXT = ("<html><body>" + "<p>Hợp tác Việt Nam – Lào, đoạn %d.</p>" * 400 + "</body></html>").encode()


def _deflate(data: bytes, wbits: int) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


def _decode(encoding: str, body: bytes, cap: int, step: int) -> bytes:
    decoder = Decoder(encoding, cap)
    return b"".join(decoder.feed(body[i : i + step]) for i in range(0, len(body), step))


@pytest.mark.parametrize("step", [1, 7, 1 << 20])
@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("deflate", _deflate(TEXT, zlib.MAX_WBITS)),  # as the RFC says: zlib-wrapped
        ("deflate", _deflate(TEXT, -zlib.MAX_WBITS)),  # as some servers send it: raw
        ("gzip", gzip.compress(TEXT[:5000]) + gzip.compress(TEXT[5000:])),  # two members
        ("gzip, deflate", _deflate(gzip.compress(TEXT), zlib.MAX_WBITS)),
        ("identity", TEXT),
        ("", TEXT),
    ],
)
def test_what_browsers_decode_comes_out_whole_in_any_chunking(encoding, body, step):
    assert _decode(encoding, body, len(TEXT), step) == TEXT


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip", "deflate"])
def test_nothing_past_the_cap_is_decoded(encoding):
    body = bytes(10 << 20)
    for layer in encoding.split(", "):
        body = gzip.compress(body) if layer == "gzip" else _deflate(body, zlib.MAX_WBITS)
    decoder = Decoder(encoding, 100_000)
    with pytest.raises(TooLarge):
        decoder.feed(body)
    assert all(layer.produced <= 100_001 for layer in decoder.layers)


def test_unknown_encodings_and_corrupt_data_are_refused():
    with pytest.raises(BadEncoding, match="'br' is not supported"):
        Decoder("br", 1000)
    with pytest.raises(BadEncoding, match="invalid gzip"):
        Decoder("gzip", 1000).feed(b"\x1f\x8b\x08\x00" + b"\xff" * 40)
    assert gunzip(gzip.compress(b"abc"), 3) == b"abc"
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b"abcd"), 3)
