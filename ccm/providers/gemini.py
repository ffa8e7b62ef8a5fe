"""The Gemini wire format (type `gemini`, Google AI Studio): generateContent / streamGenerateContent.

    POST {base}/models/{model}:generateContent                 (non-streaming client)
    POST {base}/models/{model}:streamGenerateContent?alt=sse   (streaming client)
    x-goog-api-key: <key>

The translation is pure (ccm.translate.gemini); this module adds URL, auth and errors; the answer's bytes go
through the shared wrapper (ccm.providers.translated). Vertex AI (ccm.providers.vertex) reuses everything but the URL and the auth header. Nothing from
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
from ccm.providers.base import RequestContext, UpstreamError, UpstreamRequest
from ccm.providers.translated import TranslatedStream, is_sse, whole_message
from ccm.routing import estimate_tokens
from ccm.translate.gemini.request import to_gemini_request
from ccm.translate.gemini.response import google_error, name_declaration
from ccm.translate.gemini.signature import signature_scope
from ccm.translate.gemini.stream import GeminiStream
from ccm.translate.openai.errors import classify as classify_error
from ccm.translate.openai.errors import retry_after
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
        provider, model = ctx.candidate.provider.name, ctx.candidate.actual_model
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
        candidate = ctx.candidate
        provider = candidate.provider
        model = candidate.actual_model
        scope = signature_scope(self.wire, provider.name, model)
        translated = to_gemini_request(
            body,
            model=model,
            scope=scope,
            max_output_tokens=candidate.max_output_tokens,
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
        """Either form of answer goes through the stream translator (a JSON body is one whole response)."""
        form = "text/event-stream" if is_sse(content, content_type) else "application/json"
        return whole_message(self.stream(ctx, form), content)

    def stream(self, ctx: RequestContext, content_type: str) -> TranslatedStream:
        scope = (ctx.state.get(WIRE) or {}).get("scope") or ""
        wire = GeminiStream(scope=scope, **ctx.answer_names(WIRE))
        return TranslatedStream(wire, content_type)


ADAPTER = GeminiAdapter()
