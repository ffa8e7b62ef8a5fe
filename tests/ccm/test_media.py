"""ccm.media and the estimate: images and documents count by the model's rules, never by base64 size."""

from __future__ import annotations

import base64
import struct
import zlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccm.media import MAX_IMAGE_TOKENS, PAGE_TOKENS, image_size, image_tokens, media_tokens
from ccm.routing import estimate_request, route
from ccm.tokens import estimate_input_tokens
from config.load import parse_config


def png(width: int, height: int, payload: int = 0) -> bytes:
    """A valid PNG header (IHDR), then `payload` bytes of incompressible data in an IDAT chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    noise = bytes((i * 7919 + 13) % 251 for i in range(payload))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", noise) + chunk(b"IEND", b"")


def jpeg(width: int, height: int, exif: int = 0) -> bytes:
    app1 = b"\xff\xe1" + struct.pack(">H", exif + 2) + b"\0" * exif if exif else b""
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0" + app1 + sof0


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\0\0\0"


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + (width - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body) + 3) + b"WEBP" + body + (height - 1).to_bytes(3, "little")


def image_block(data: bytes, media_type: str = "image/png") -> dict[str, object]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": base64.b64encode(data).decode()},
    }


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (png(1920, 1080), (1920, 1080)),
        (gif(64, 32), (64, 32)),
        (jpeg(800, 600), (800, 600)),
        (jpeg(1024, 768, exif=40_000), (1024, 768)),  # the frame header after a big EXIF block
        (webp_vp8x(300, 200), (300, 200)),
        (b"not an image", None),
    ],
)
def test_image_size_from_the_header(data: bytes, size: tuple[int, int] | None) -> None:
    assert image_size(data) == size


def test_anthropics_rule_width_times_height_over_750_capped() -> None:
    assert image_tokens(750, 1) == 1
    assert image_tokens(1000, 1000) == 1333
    assert image_tokens(8000, 8000) == MAX_IMAGE_TOKENS  # scaled to 2576 px a side, then capped
    assert image_tokens(0, 10) == MAX_IMAGE_TOKENS


def test_a_screenshot_counts_its_pixels_not_its_megabyte() -> None:
    shot = png(1440, 900, payload=900_000)
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [image_block(shot), {"type": "text", "text": "what is this?"}]}],
    }
    size = len(orjson.dumps(body))
    assert size > 1_000_000
    estimate = estimate_request(body, size)
    assert 1728 <= estimate < 1728 + 200  # 1440 x 900 / 750 = 1728, plus the text around it
    assert estimate_input_tokens(body) == pytest.approx(estimate, abs=40)  # count_tokens' local estimate agrees


def test_images_inside_tool_results_count_too_and_unknown_ones_count_the_most() -> None:
    result = {"type": "tool_result", "tool_use_id": "t", "content": [image_block(gif(750, 10))]}
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    messages = [{"role": "user", "content": [result, url]}]
    data_bytes, tokens = media_tokens(messages)
    assert tokens == 10 + MAX_IMAGE_TOKENS and data_bytes == len(base64.b64encode(gif(750, 10)))


def test_a_pdf_counts_per_page() -> None:
    pdf = b"%PDF-1.7\n" + b"".join(b"%d 0 obj << /Type /Page /Parent 2 0 R >> endobj\n" % i for i in range(3))
    pdf += b"2 0 obj << /Type /Pages /Kids [] /Count 3 >> endobj\n" + b"x" * 500_000
    block = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(pdf).decode()},
    }
    text = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}}
    assert media_tokens([{"role": "user", "content": [block, text]}])[1] == 3 * PAGE_TOKENS


def test_a_big_image_no_longer_pushes_a_small_request_to_long_context() -> None:
    cfg = parse_config(
        '[router]\ndefault = "d"\nlong_context = "long"\nlong_context_threshold = 60000\n'
        '[[providers]]\nname = "p"\nprovider_type = "z.ai"\n'
        '[[models]]\nname = "d"\n[[models.mappings]]\nprovider = "p"\nactual_model = "a"\n'
        '[[models]]\nname = "long"\n[[models.mappings]]\nprovider = "p"\nactual_model = "b"\n'
    ).config
    body = {
        "model": "claude-opus-5-5",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": [image_block(png(2000, 2000, payload=600_000))]}],
    }
    raw = orjson.dumps(body)
    assert route(body, cfg, body_size=len(raw), media=False).rule == "long_context"  # what size alone said
    decision = route(body, cfg, body_size=len(raw), media=b'"source"' in raw)
    assert decision.rule == "default" and decision.estimated_tokens < 6000


@given(st.binary(max_size=200))
def test_any_bytes_as_an_image_never_break_the_estimate(data: bytes) -> None:
    _, tokens = media_tokens([{"role": "user", "content": [image_block(data)]}])
    assert 1 <= tokens <= MAX_IMAGE_TOKENS


@given(st.text(max_size=80))
def test_any_text_as_base64_never_breaks_the_estimate(data: str) -> None:
    block = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}
    doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": data}}
    _, tokens = media_tokens([{"role": "user", "content": [block, doc]}])
    assert tokens >= 1
