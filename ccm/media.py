"""Input tokens of images and documents, by the rules the model counts them with, never by base64 size.

A screenshot is ~1 MB of base64 in the request body but ~1,600 tokens to the model; counted by size it
would look like 250,000 tokens and push a small request to the long-context slot, or past a window. So
the estimate (ccm.routing.estimate_request) leaves the base64 out of the body's size and adds these.

    base64_bytes, tokens = media_tokens(body["messages"])

Images: Anthropic's rule, tokens = width x height / 750 after the image is scaled to fit the model's
limit (https://docs.anthropic.com/en/docs/build-with-claude/vision). Current Claude models take up to
2,576 px a side and 4,784 tokens an image (`image_limits` in Claude Code 2.1.332's model catalog); older
ones scale to 1,568 px (~1,600 tokens), so the estimate leans high. The size is read from the image's
header (PNG, GIF, JPEG, WebP); an image whose size cannot be read (a URL, a file id, an unknown format)
counts the most an image can.

PDFs: each page is its text plus an image of the page
(https://docs.anthropic.com/en/docs/build-with-claude/pdf-support: 1,500-3,000 text tokens a page):
3,000 + 1,600 per page, pages counted from the PDF's page objects (one per 100 KB when they are
compressed out of sight; one for a PDF given by URL or file id). A plain-text document is its text, which
its JSON size already counts.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

MAX_SIDE = 2576
MAX_IMAGE_TOKENS = 4784
PIXELS_PER_TOKEN = 750
PAGE_TOKENS = 3000 + 1600
BYTES_PER_HIDDEN_PAGE = 100_000
_HEAD_CHARS = 65_536
"""Base64 characters decoded to find an image's size (a JPEG's frame header may follow ~40 KB of EXIF)."""
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


def media_tokens(messages: Any) -> tuple[int, int]:
    """(bytes of base64 data, estimated tokens) of every image and document in the messages, tool results'
    content included."""
    data_bytes = tokens = 0
    stack = [messages] if isinstance(messages, list) else []
    while stack:
        for item in stack.pop():
            if not isinstance(item, dict):
                continue
            content = item.get("content")
            if isinstance(content, list):
                stack.append(content)
            kind = item.get("type")
            if kind == "image" or kind == "document":
                source = item.get("source")
                data = source.get("data") if isinstance(source, dict) and source.get("type") == "base64" else None
                if isinstance(data, str):
                    data_bytes += len(data)
                tokens += _image(data) if kind == "image" else _document(source, data)
    return data_bytes, tokens


def image_tokens(width: int, height: int) -> int:
    """Anthropic's count for an image of this size, after scaling it to fit MAX_SIDE and MAX_IMAGE_TOKENS."""
    if width <= 0 or height <= 0:
        return MAX_IMAGE_TOKENS
    scale = min(1.0, MAX_SIDE / max(width, height))
    return min(MAX_IMAGE_TOKENS, max(1, round(width * scale * height * scale / PIXELS_PER_TOKEN)))


def _image(data: str | None) -> int:
    size = image_size(_decode(data[:_HEAD_CHARS])) if data else None
    return image_tokens(*size) if size else MAX_IMAGE_TOKENS


def _document(source: Any, data: str | None) -> int:
    if not isinstance(source, dict) or source.get("type") in ("text", "content"):
        return 0  # text: counted by its size in the body
    if data is None:
        return PAGE_TOKENS  # a URL or a file id: its size is unknown here
    pdf = _decode(data)
    pages = len(_PAGE.findall(pdf)) or max(1, len(pdf) // BYTES_PER_HIDDEN_PAGE)
    return pages * PAGE_TOKENS


def _decode(text: str) -> bytes:
    usable = len(text) - len(text) % 4
    try:
        return base64.b64decode(text[:usable], validate=False)
    except (binascii.Error, ValueError):
        return b""


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first bytes of a PNG, GIF, JPEG or WebP, or None."""
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return int(width), int(height)
    if head[:2] == b"\xff\xd8":
        return _jpeg_size(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        return _webp_size(head)
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    """The first start-of-frame marker's size (SOF0-SOF15 but DHT, JPG and DAC)."""
    i = 2
    while i + 9 <= len(head):
        if head[i] != 0xFF:
            return None
        marker = head[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", head[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return int(width & 0x3FFF), int(height & 0x3FFF)
    return None
