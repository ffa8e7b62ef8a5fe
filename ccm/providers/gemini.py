"""The Gemini wire format (type `gemini`, Google AI Studio): generateContent / streamGenerateContent.

    POST {base}/models/{model}:generateContent                 (non-streaming client)
    POST {base}/models/{model}:streamGenerateContent?alt=sse   (streaming client)
    x-goog-api-key: <key>

The translation is pure (ccm.translate.gemini_*); this module adds URL, auth, errors and the byte-level
stream. Vertex AI (ccm.providers.vertex) reuses everything but the URL and the auth header. Nothing from
the client's headers is forwarded.

Corrective retry hook (the dispatcher does the retry): an endpoint that refuses `parametersJsonSchema`
(`needs_plain_parameters(status, content)` is True) is remembered with `use_plain_parameters(provider,
model)`, and every later build for that provider and model sends the `parameters` form instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import orjson

from ccm import __version__
from ccm.providers.base import (
    Frame,
    InvalidUpstream,
    RequestContext,
    UpstreamError,
    UpstreamRequest,
    Usage,
)
from ccm.providers.translated import as_frames, is_sse
from ccm.routing import estimate_tokens
from ccm.sse import SSEParser
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.gemini.request import to_gemini_request
from ccm.translate.gemini.response import google_error, name_declaration
from ccm.translate.gemini.signature import signature_scope
from ccm.translate.gemini.stream import GeminiStream
from ccm.translate.openai.errors import classify as classify_error
from ccm.translate.openai.errors import retry_after
from ccm.translate.openai.response import new_message_id
from config.schema import ProviderConfig

WIRE = "gemini"
_plain_parameters: set[tuple[str, str]] = set()
#: The tool names of the last request this task built. parse_error() gets no context, but the dispatcher
#: builds a request and reads its error in the same asyncio task (one attempt after another), and tasks
#: do not share context variables: so a schema error can name the tool it is about.
_declarations: ContextVar[tuple[str, ...]] = ContextVar("gemini_declarations", default=())


def needs_plain_parameters(status: int, content: bytes) -> bool:
    """Whether a 400 says the endpoint does not know `parametersJsonSchema` (older API versions)."""
    if status != 400:
        return False
    text = content.decode("utf-8", "replace")
    return "parameters_json_schema" in text or "parametersJsonSchema" in text


def use_plain_parameters(provider: str, model: str) -> None:
    """Remember that this provider and model want the OpenAPI-subset `parameters` form."""
    _plain_parameters.add((provider.lower(), model))


def plain_parameters(provider: str, model: str) -> bool:
    return (provider.lower(), model) in _plain_parameters


def model_path(model: str) -> str:
    """The model as one percent-encoded path segment (`models/` as Google lists it dropped): a name holding
    `/`, `?`, `#` or `..` must never reach another path of the host with the provider's credential. `@` stays
    as it is: a path character with no delimiting role there, and Vertex's documented form of a version
    (`claude-sonnet-4-5@20250929`)."""
    return quote(model.removeprefix("models/"), safe="@")


class GeminiAdapter:
    wire: str = WIRE

    def learn(self, status: int, content: bytes, ctx: RequestContext) -> bool:
        """A refusal this adapter can correct (the dispatcher then retries once): an endpoint that does not
        know `parametersJsonSchema` gets the plain `parameters` form from now on."""
        provider, model = ctx.attempt.provider.name, ctx.attempt.actual_model
        if needs_plain_parameters(status, content) and not plain_parameters(provider, model):
            use_plain_parameters(provider, model)
            return True
        return False

    def url(self, provider: ProviderConfig, model: str, stream: bool) -> str:
        action = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{provider.effective_base_url}/models/{model_path(model)}:{action}"

    def auth_headers(self, ctx: RequestContext) -> dict[str, str]:
        return {"x-goog-api-key": ctx.api_key} if ctx.api_key else {}

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        attempt = ctx.attempt
        provider = attempt.provider
        model = attempt.actual_model
        scope = signature_scope(self.wire, provider.name, model)
        translated = to_gemini_request(
            body,
            model=model,
            scope=scope,
            max_output_tokens=attempt.max_output_tokens,
            plain_parameters=plain_parameters(provider.name, model),
        )
        payload = orjson.dumps(translated.body)
        declarations = [
            translated.tool_names.get(d["name"], d["name"])
            for tool in translated.body.get("tools", [])
            for d in tool.get("functionDeclarations", [])
        ]
        _declarations.set(tuple(declarations))
        ctx.state[WIRE] = {
            "tool_names": translated.tool_names,
            "scope": scope,
            "declarations": declarations,
            "input_estimate": estimate_tokens(len(payload)),
        }
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if ctx.stream else "application/json",
            "user-agent": f"ccm/{__version__}",
        }
        headers.update(dict(provider.headers))
        headers.update(self.auth_headers(ctx))
        return UpstreamRequest(self.url(provider, model, ctx.stream), headers, payload)

    def parse_error(
        self, status: int, headers: Mapping[str, str], content: bytes, ctx: RequestContext | None = None
    ) -> UpstreamError:
        """A schema error names the tool (Claude Code's name) it is about, from `ctx` when given, else from
        the request this task built last."""
        message, delay = google_error(content, status)
        if status == 400:
            names = (ctx.state.get(WIRE) or {}).get("declarations") if ctx is not None else _declarations.get()
            message = name_declaration(message, names or [])
        error_type, message = classify_error(status, message)
        return UpstreamError(status, error_type, message, delay or retry_after(headers))

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        translator = self.stream(ctx, content_type if is_sse(content, content_type) else "application/json")
        frames = translator.feed(content) + translator.finish()
        if not translator.complete:
            raise InvalidUpstream("Gemini's answer ended before it said it was finished (no finishReason)")
        try:
            return message_from_events(f.data for f in frames if f.data is not None)
        except ValueError as exc:
            raise InvalidUpstream(f"Gemini's answer is unusable: {exc}") from exc

    def stream(self, ctx: RequestContext, content_type: str) -> GeminiStreamTranslator:
        return GeminiStreamTranslator(ctx, content_type)


class GeminiStreamTranslator:
    """Bytes of a Gemini answer in (SSE, or one JSON body; split anywhere), Anthropic Frames out."""

    def __init__(self, ctx: RequestContext, content_type: str) -> None:
        state = ctx.state.get(WIRE) or {}
        self._state = GeminiStream(
            model=ctx.requested_model or ctx.attempt.actual_model,
            scope=state.get("scope") or "",
            message_id=new_message_id(),
            tool_names=state.get("tool_names"),
            input_estimate=state.get("input_estimate", 0),
        )
        self._parser = SSEParser()
        self._json: bytearray | None = bytearray() if "json" in content_type.lower() else None
        self.usage = Usage(input_tokens=self._state.input_estimate)
        self.complete = False

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            self._json += chunk
            return []
        events: list[dict[str, Any]] = []
        for sse in self._parser.feed(chunk):
            events += self._event(sse.data)
        return self._frames(events)

    def finish(self) -> list[Frame]:
        events: list[dict[str, Any]] = []
        if self._json is not None:
            text = bytes(self._json).strip()
            if text.startswith((b"data:", b"event:", b":")):  # SSE labelled as JSON
                self._json = None
                return self.feed(text + b"\n\n") + self.finish()
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise InvalidUpstream("Gemini answered with invalid JSON") from None
            for item in data if isinstance(data, list) and len(data) != 1 else [data]:
                events += self._state.response(item)
        else:
            for sse in self._parser.flush():
                events += self._event(sse.data)
        events += self._state.close()
        return self._frames(events)

    def _event(self, data: str) -> list[dict[str, Any]]:
        if not data.strip() or self._state.finished:
            return []
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise InvalidUpstream(f"Gemini sent an event that is not JSON: {data[:200]!r}") from None
        return self._state.response(parsed)

    def _frames(self, events: list[dict[str, Any]]) -> list[Frame]:
        frames, ended, usage = as_frames(events)
        self.complete = self.complete or ended
        if usage is not None:
            self.usage = usage
        return frames


ADAPTER = GeminiAdapter()
