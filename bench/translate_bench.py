"""Added latency of the Anthropic -> OpenAI translation, in-process (no network: the translation alone).

    python bench/translate_bench.py [--iterations 500] [--fixture thinking-tool-result-followup]

Measures, for the largest Claude Code fixture request (94 KB, 12 tools):
- request: the openai adapter's build() (translate + serialise) for several provider types, against the
  baseline an Anthropic pass-through pays anyway (serialising the same body once with orjson);
- stream: translating a long recorded Chat Completions stream (reasoning, text, two tool calls with
  arguments in many fragments), fed in 1 KB network chunks: cost per upstream event;
- answer: translate_message() of a whole non-streaming completion;
- the same long answer as a Responses stream and as a Gemini stream (the other translated wires).
Prints p50/p99 in microseconds. Numbers on a 2-core VM are noisy (±10 %): compare runs of one session.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ccm.auth.credentials import api_key  # noqa: E402
from ccm.providers.base import RequestContext  # noqa: E402
from ccm.providers.gemini import ADAPTER as GEMINI  # noqa: E402
from ccm.providers.openai import ADAPTER  # noqa: E402
from ccm.providers.responses import ADAPTER as RESPONSES  # noqa: E402
from ccm.routing import Candidate  # noqa: E402
from config.schema import ProviderConfig, spec_for  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"


def ctx(provider_type: str, model: str, stream: bool = True) -> RequestContext:
    provider = ProviderConfig("p", provider_type, spec_for(provider_type), base_url="http://127.0.0.1:1/v1")
    return RequestContext(
        Candidate(provider, model), api_key("sk-bench"), {}, requested_model="claude-opus-5-5", stream=stream
    )


def timed(fn: Callable[[], object], iterations: int) -> list[float]:
    for _ in range(min(50, iterations)):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def report(label: str, samples: list[float], extra: str = "") -> None:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{label:<52} p50 {p50:9.1f} us   p99 {p99:9.1f} us {extra}")


def recorded_stream() -> tuple[bytes, int]:
    """A long answer as a real API streams it: 400 reasoning deltas, 1,500 text deltas, two tool calls
    with 300 argument fragments each, finish_reason, usage, [DONE]."""

    def event(delta: dict[str, object], finish: str | None = None) -> bytes:
        data = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
        data["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
        return b"data: " + orjson.dumps(data) + b"\n\n"

    out = [event({"role": "assistant", "content": ""})]
    out += [event({"reasoning_content": f"step {i} of the plan; "}) for i in range(400)]
    out += [event({"content": f"word{i} "}) for i in range(1500)]
    for index, name in enumerate(("Bash", "Write")):
        first = {"index": index, "id": f"call_{index}", "type": "function", "function": {"name": name, "arguments": ""}}
        out.append(event({"tool_calls": [first]}))
        args = json.dumps({"command": "x" * 3000, "description": "a long argument é"})
        step = len(args) // 300 + 1
        for i in range(0, len(args), step):
            out.append(event({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + step]}}]}))
    out.append(event({}, "tool_calls"))
    usage = {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9},
    }
    out.append(b"data: " + orjson.dumps(usage) + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out), len(out)


def _data(payload: object) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def responses_stream() -> tuple[bytes, int]:
    """The same answer on the Responses wire: reasoning summary, text, two calls in 300 fragments each."""
    args = json.dumps({"command": "x" * 3000, "description": "a long argument é"})
    step = len(args) // 300 + 1
    out = [{"type": "response.created", "response": {"id": "r"}}]
    out.append({"type": "response.output_item.added", "item": {"type": "reasoning", "id": "rs"}})
    delta = "response.reasoning_summary_text.delta"
    out += [{"type": delta, "item_id": "rs", "summary_index": 0, "delta": f"step {i}; "} for i in range(400)]
    out.append({"type": "response.output_item.done", "item": {"type": "reasoning", "id": "rs", "summary": []}})
    out += [{"type": "response.output_text.delta", "item_id": "m", "delta": f"word{i} "} for i in range(1500)]
    out.append({"type": "response.output_item.done", "item": {"type": "message", "id": "m", "content": []}})
    for n, name in enumerate(("Bash", "Write")):
        item = {"type": "function_call", "id": f"fc{n}", "call_id": f"call_{n}", "name": name}
        out.append({"type": "response.output_item.added", "item": item})
        delta = "response.function_call_arguments.delta"
        out += [{"type": delta, "item_id": f"fc{n}", "delta": args[i : i + step]} for i in range(0, len(args), step)]
        out.append({"type": "response.output_item.done", "item": {**item, "arguments": args}})
    usage = {"input_tokens": 9, "output_tokens": 9}
    out.append({"type": "response.completed", "response": {"status": "completed", "output": [], "usage": usage}})
    return b"".join(_data(event) for event in out), len(out)


def gemini_stream() -> tuple[bytes, int]:
    """The same answer on the Gemini wire: thought parts, text parts, two whole function calls."""

    def chunk(part: dict[str, object]) -> dict[str, object]:
        return {"candidates": [{"content": {"role": "model", "parts": [part]}}]}

    out = [chunk({"text": f"step {i}; ", "thought": True}) for i in range(400)]
    out += [chunk({"text": f"word{i} "}) for i in range(1500)]
    for name in ("Bash", "Write"):
        out.append(chunk({"functionCall": {"name": name, "args": {"command": "x" * 3000}}}))
    usage = {"promptTokenCount": 9, "candidatesTokenCount": 9}
    out.append({"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}], "usageMetadata": usage})
    return b"".join(_data(event) for event in out), len(out)


def bench_wire(label: str, adapter: Any, c: RequestContext, recorded: tuple[bytes, int], n: int) -> None:
    stream, count = recorded
    pieces = [stream[i : i + 1024] for i in range(0, len(stream), 1024)]

    def run() -> None:
        translator = adapter.stream(c, "text/event-stream")
        for piece in pieces:
            translator.feed(piece)
        translator.finish()
        assert translator.complete

    samples = timed(run, max(20, n // 10))
    print(f"{label}: {count} upstream events, {len(stream) / 1024:.0f} KB in {len(pieces)} network chunks")
    report("  whole stream", samples)
    report("  per upstream event", [s / count for s in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--fixture", default="thinking-tool-result-followup")
    args = parser.parse_args()
    n = args.iterations

    raw = (FIXTURES / f"{args.fixture}.json").read_bytes()
    body = orjson.loads(raw)
    print(
        f"request: {args.fixture} ({len(orjson.dumps(body)) / 1024:.0f} KB compact, {len(body.get('tools', []))} tools)"
    )
    baseline = timed(lambda: orjson.dumps(body), n)
    report("  baseline: orjson.dumps of the body (pass-through)", baseline)
    for provider_type, model in (
        ("deepseek", "deepseek-chat"),
        ("openrouter", "anthropic/claude-sonnet-4.5"),
        ("openai", "gpt-5"),
        ("openai-compatible", "qwen3"),
    ):
        c = ctx(provider_type, model)
        samples = timed(lambda c=c: ADAPTER.build(body, c), n)
        added = statistics.median(samples) - statistics.median(baseline)
        report(f"  build() for {provider_type} ({model})", samples, f"  added vs baseline {added:7.1f} us")

    stream, count = recorded_stream()
    pieces = [stream[i : i + 1024] for i in range(0, len(stream), 1024)]
    c = ctx("deepseek", "deepseek-chat")
    ADAPTER.build(body, c)

    def run_stream() -> None:
        translator = ADAPTER.stream(c, "text/event-stream")
        for piece in pieces:
            translator.feed(piece)
        translator.finish()

    samples = timed(run_stream, max(20, n // 10))
    per_event = [s / count for s in samples]
    print(f"stream: {count} upstream events, {len(stream) / 1024:.0f} KB in {len(pieces)} network chunks")
    report("  whole stream", samples)
    report("  per upstream event", per_event)

    completion = {
        "id": "c",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "word " * 1500,
                    "reasoning_content": "plan " * 400,
                    "tool_calls": [
                        {
                            "id": "call_0",
                            "type": "function",
                            "function": {"name": "Bash", "arguments": json.dumps({"command": "x" * 3000})},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 9},
    }
    content = orjson.dumps(completion)
    c = ctx("deepseek", "deepseek-chat", stream=False)
    ADAPTER.build(body, c)
    samples = timed(lambda: ADAPTER.translate_message(content, "application/json", c), n)
    print(f"answer: one non-streaming completion ({len(content) / 1024:.0f} KB)")
    report("  translate_message()", samples)

    c = ctx("openai-responses", "gpt-5")
    RESPONSES.build(body, c)
    bench_wire("responses stream", RESPONSES, c, responses_stream(), n)
    c = ctx("gemini", "gemini-2.5-pro")
    GEMINI.build(body, c)
    bench_wire("gemini stream", GEMINI, c, gemini_stream(), n)


if __name__ == "__main__":
    main()
