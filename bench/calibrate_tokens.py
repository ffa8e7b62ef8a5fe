"""Calibrate ccm's cheap token estimate (ccm.routing.BYTES_PER_TOKEN) against a real Claude tokenizer.

The long-context rule and the local count_tokens answer estimate input tokens from a body's size in
bytes, because a tokenizer on every request costs milliseconds. This script measures how many bytes of
request JSON make one token on Claude Code's real requests (tests/fixtures/claude-code), and times
route() on the largest of them.

The tokenizer: releases 0.3.x-0.38.x of the `anthropic` PyPI package ship Claude's published tokenizer as
`anthropic/tokenizer.json` (later releases dropped it). The script downloads such a wheel with
`pip download --no-deps` and reads it with the `tokenizers` package, which it installs into a temporary
folder when it is not importable (`--no-deps`: only Tokenizer.from_str is used). Neither becomes a
dependency of ccm. Anthropic calls that tokenizer an approximation for Claude 3 and later, whose own
tokenizer is not public and tends to give more tokens for the same text: one more reason to round the
ratio down (towards more tokens) rather than to the nearest value.

    python bench/calibrate_tokens.py                      # download, measure, recommend, time route()
    python bench/calibrate_tokens.py --anthropic 0.30.1   # another release's tokenizer.json
    python bench/calibrate_tokens.py --tokenizer-json PATH --fixtures DIR

What is tokenized is the text a model reads: every system text, message text, thinking text, tool input
and tool result, and the tools as JSON. The ratio is the body's size (compact JSON, as Claude Code sends
it) over those tokens, so JSON syntax and escaping are paid for by the ratio, as they are by the estimate.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT.parent / "shared" / "fixtures" / "claude-code"
MARGIN = 0.97  # round down below the smallest ratio by ~3 %, so the estimate leans to more tokens


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def load_tokenizer(version: str, tokenizer_json: Path | None, work: Path) -> Any:
    """A tokenizers.Tokenizer for Claude's published tokenizer.json (installing what is missing in `work`)."""
    try:
        import tokenizers
    except ImportError:
        print("installing `tokenizers` into a temporary folder (pip install --no-deps --target ...)")
        pip("install", "--no-deps", "--target", str(work / "site"), "tokenizers")
        sys.path.insert(0, str(work / "site"))
        import tokenizers
    if tokenizer_json is None:
        print(f"downloading anthropic=={version} (pip download --no-deps) for its tokenizer.json")
        pip("download", "--no-deps", "--only-binary", ":all:", f"anthropic=={version}", "-d", str(work))
        wheel = next(work.glob(f"anthropic-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            try:
                raw = zf.read("anthropic/tokenizer.json").decode("utf-8")
            except KeyError:
                sys.exit(f"anthropic {version} has no tokenizer.json: use a 0.3.x-0.38.x release")
    else:
        raw = tokenizer_json.read_text(encoding="utf-8")
    return tokenizers.Tokenizer.from_str(raw)


def _content_texts(content: Any) -> list[str]:
    """The text a model reads from a message's content (string or blocks)."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            out.append(str(block.get("text", "")))
        elif kind == "thinking":
            out.append(str(block.get("thinking", "")))
        elif kind in ("tool_use", "server_tool_use"):
            out.append(str(block.get("name", "")) + json.dumps(block.get("input", {}), ensure_ascii=False))
        elif kind == "tool_result":
            out += _content_texts(block.get("content", ""))
        else:
            out.append(json.dumps(block, ensure_ascii=False))
    return out


def model_text(body: dict[str, Any]) -> str:
    """System + messages + tools (as JSON): what the model reads, without the request's JSON framing."""
    parts = _content_texts(body.get("system") or [])
    for message in body.get("messages") or []:
        parts += _content_texts(message.get("content"))
    if body.get("tools"):
        parts.append(json.dumps(body["tools"], ensure_ascii=False))
    return "\n".join(parts)


def compact_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def measure(tokenizer: Any, fixtures: Path) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(fixtures.glob("*.json")):
        if path.name.endswith(".headers.json") or path.name == "index.json":
            continue
        body = json.loads(path.read_text(encoding="utf-8"))
        tokens = len(tokenizer.encode(model_text(body), add_special_tokens=False).ids)
        size = compact_size(body)
        # What ccm.tokens measures for count_tokens: system, messages and tools serialised separately.
        parts = sum(compact_size(body[k]) for k in ("system", "messages", "tools") if body.get(k))
        rows.append({"name": path.stem, "bytes": size, "parts": parts, "tokens": tokens})
    return rows


def recommend(rows: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(min ratio, median ratio, recommended BYTES_PER_TOKEN) over fixtures big enough to matter."""
    big = [r for r in rows if r["tokens"] >= 1000]  # long context is about big requests
    ratios = [r["bytes"] / r["tokens"] for r in big]
    low = min(ratios)
    return low, statistics.median(ratios), math.floor(low * MARGIN * 10) / 10


def time_route(fixtures: Path) -> None:
    """route() on the largest fixture: microseconds per call (best of 5 runs)."""
    import timeit

    from ccm.routing import route
    from config.load import parse_config

    config = parse_config(
        '[router]\ndefault = "m"\nthink = "m"\nbackground = "m"\nwebsearch = "m"\nlong_context = "m"\n'
        '[[providers]]\nname = "p"\nprovider_type = "z.ai"\n'
        '[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "p"\nactual_model = "m"\n'
    ).config
    candidates = [p for p in fixtures.glob("*.json") if not p.name.endswith(".headers.json") and p.name != "index.json"]
    largest = max(candidates, key=lambda p: p.stat().st_size)
    body = json.loads(largest.read_text(encoding="utf-8"))
    size = compact_size(body)
    print(f"\nroute() on {largest.stem} ({size} bytes, {len(body.get('messages', []))} messages):")
    for label, kwargs in (("body_size given (the proxy)", {"body_size": size}), ("body measured by route()", {})):
        number = 2000 if kwargs else 200
        runs = timeit.repeat(lambda kw=kwargs: route(body, config, **kw), number=number, repeat=5)
        print(f"  {label:30} {min(runs) / number * 1e6:8.1f} µs per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fixtures", type=Path, default=FIXTURES)
    parser.add_argument("--anthropic", default="0.38.0", help="anthropic release whose tokenizer.json to use")
    parser.add_argument("--tokenizer-json", type=Path, help="use this tokenizer.json instead of downloading")
    parser.add_argument("--no-timing", action="store_true", help="skip timing route()")
    args = parser.parse_args()
    if not args.fixtures.is_dir():
        sys.exit(f"fixtures not found: {args.fixtures}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ccm-calibrate-") as tmp:
        tokenizer = load_tokenizer(args.anthropic, args.tokenizer_json, Path(tmp))
        rows = measure(tokenizer, args.fixtures)
    print(f"\n{'fixture':40} {'bytes':>7} {'tokens':>7} {'bytes/tok':>9} {'parts/tok':>9}")
    for r in sorted(rows, key=lambda r: r["bytes"]):
        print(
            f"{r['name']:40} {r['bytes']:7} {r['tokens']:7} "
            f"{r['bytes'] / r['tokens']:9.2f} {r['parts'] / max(r['tokens'], 1):9.2f}"
        )
    total_bytes = sum(r["bytes"] for r in rows)
    total_tokens = sum(r["tokens"] for r in rows)
    low, median, bpt = recommend(rows)
    print(
        f"\nall fixtures: {total_bytes} bytes / {total_tokens} tokens = {total_bytes / total_tokens:.2f} bytes per token"
    )
    print(f"fixtures with >= 1000 tokens: lowest {low:.2f}, median {median:.2f} bytes per token")
    print(f"recommended BYTES_PER_TOKEN = {bpt}  (lowest x {MARGIN}, rounded down: errs towards more tokens)")
    from ccm.routing import BYTES_PER_TOKEN

    print(f"ccm.routing.BYTES_PER_TOKEN is {BYTES_PER_TOKEN}")
    print(f"({time.perf_counter() - started:.1f} s)")
    if not args.no_timing:
        time_route(args.fixtures)


if __name__ == "__main__":
    main()
