"""The Vertex AI wire format (type `vertex-ai`): Gemini and Claude models of one Google Cloud project.

    {base}/projects/P/locations/L/publishers/google/models/M:generateContent      (Gemini; also
                                                 :streamGenerateContent?alt=sse, on the gemini translator)
    {base}/projects/P/locations/L/publishers/anthropic/models/M:rawPredict        (an actual_model that
                                                 starts with `claude-`; :streamRawPredict to stream)
    Authorization: Bearer <Google access token>      (ccm.auth.adc, resolved before the adapter runs)

`base` ends with `/v1` (config.catalog.vertex_base_url: the global host for `location = "global"`, the
regional or multi-region host otherwise; `base_url` overrides it). Claude bodies are the client's
Anthropic body with `model` moved into the URL and `anthropic_version: "vertex-2023-10-16"` added; the
answer is Anthropic's own, relayed by the anthropic module's stream handling.

Beta flags: Vertex answers 400 "Unexpected value(s) `X`, `Y` for the `anthropic-beta` header" for flags
it does not serve. Flags known to be refused are never sent; the hook for the dispatcher's one corrective
retry is

    flags = rejected_betas(status, content)      # [] when the 400 is about something else
    if flags:
        drop_betas(provider.name, attempt.actual_model, flags)   # remembered for every later request
        ... build() again and retry once ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from ccm import __version__
from ccm.providers import anthropic_compat as compat
from ccm.providers import anthropic_thinking
from ccm.providers.anthropic import ADAPTER as ANTHROPIC
from ccm.providers.base import (
    InvalidUpstream,
    RequestContext,
    StreamTranslator,
    UpstreamError,
    UpstreamRequest,
)
from ccm.providers.gemini import GeminiAdapter, model_path
from ccm.translate.gemini.response import google_error
from config.schema import ProviderConfig

WIRE = "vertex"
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
#: Flags Vertex AI answered with `400 Unexpected value(s) ... for the anthropic-beta header` in 2026 reports:
#: sending them only costs a 400 and a retry.
UNSUPPORTED_BETAS = frozenset(
    {
        "oauth-2025-04-20",
        "prompt-caching-scope-2026-01-05",
        "effort-2025-11-24",
        "adaptive-thinking-2026-01-28",
    }
)
_UNEXPECTED = re.compile(r"Unexpected value\(s\)(.*?)for the `anthropic-beta` header", re.S)
_QUOTED = re.compile(r"`([^`]+)`")


def rejected_betas(status: int, content: bytes) -> list[str]:
    """The beta flags a Vertex 400 names as unexpected (in its order); [] for any other answer."""
    if status != 400:
        return []
    match = _UNEXPECTED.search(content.decode("utf-8", "replace"))
    if match is None:
        return []
    return [flag.strip() for flag in _QUOTED.findall(match.group(1)) if flag.strip()]


def drop_betas(provider: str, model: str, flags: list[str]) -> None:
    """Remember flags Vertex refused for this provider and model: build() leaves them out from now on (in the
    one memory of what upstreams refused, ccm.providers.anthropic_compat)."""
    compat.remember(provider, model, compat.Fix(betas=frozenset(flags)))


def dropped_betas(provider: str, model: str) -> frozenset[str]:
    return compat.learnt(provider, model).betas


def is_claude(model: str) -> bool:
    return model.startswith("claude-")


def project_url(provider: ProviderConfig, publisher: str, model: str, action: str) -> str:
    location = quote(provider.location or "global", safe="")
    return (
        f"{provider.effective_base_url}/projects/{quote(provider.project_id or '', safe='')}/locations/{location}"
        f"/publishers/{publisher}/models/{model_path(model)}:{action}"
    )


class VertexAdapter(GeminiAdapter):
    wire: str = WIRE

    def learn(self, status: int, content: bytes, ctx: RequestContext) -> bool:
        """Beta flags Vertex named as unexpected are dropped for this provider and model (then one retry)."""
        provider, model = ctx.candidate.provider.name, ctx.candidate.actual_model
        flags = [f for f in rejected_betas(status, content) if f not in dropped_betas(provider, model)]
        if flags:
            drop_betas(provider, model, flags)
            return True
        return super().learn(status, content, ctx)

    def url(self, provider: ProviderConfig, model: str, stream: bool) -> str:
        return project_url(provider, "google", model, "streamGenerateContent?alt=sse" if stream else "generateContent")

    def auth_headers(self, ctx: RequestContext) -> dict[str, str]:
        return {"authorization": f"Bearer {ctx.api_key}"} if ctx.api_key else {}

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        model = ctx.candidate.actual_model
        if not ctx.candidate.provider.project_id:
            name = ctx.candidate.provider.name
            raise InvalidUpstream(f"provider '{name}' has no project_id: set it to your Google Cloud project")
        ctx.state[WIRE] = {"claude": is_claude(model)}
        if not is_claude(model):
            return super().build(body, ctx)
        provider = ctx.candidate.provider
        payload = {k: v for k, v in body.items() if k != "model"}
        # Claude on Vertex signs thinking as Anthropic does: only its own (unwrapped) signatures go back.
        payload["messages"], _ = anthropic_thinking.own_thinking(
            payload.get("messages"), anthropic_thinking.key_of(ctx.candidate.provider), anthropic_host=True
        )
        payload["anthropic_version"] = VERTEX_ANTHROPIC_VERSION
        stream = bool(body.get("stream"))
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if stream else "application/json",
            "user-agent": f"ccm/{__version__}",
        }
        betas = self.betas(ctx.client_headers.get("anthropic-beta"), provider.name, model)
        if betas:
            headers["anthropic-beta"] = betas
        headers.update(dict(provider.headers))
        headers.update(self.auth_headers(ctx))
        url = project_url(provider, "anthropic", model, "streamRawPredict" if stream else "rawPredict")
        return UpstreamRequest(url, headers, orjson.dumps(payload))

    def betas(self, header: str | None, provider: str, model: str) -> str:
        """The client's beta flags minus those Vertex refuses (known, or learnt for this model)."""
        refused = UNSUPPORTED_BETAS | dropped_betas(provider, model)
        flags = [f.strip() for f in (header or "").split(",") if f.strip()]
        return ",".join(f for f in flags if f not in refused)

    def parse_error(
        self, status: int, headers: Mapping[str, str], content: bytes, ctx: RequestContext | None = None
    ) -> UpstreamError:
        """Claude models answer in Anthropic's error shape, Gemini models and Vertex itself in Google's."""
        try:
            data = orjson.loads(content) if content.strip() else None
        except orjson.JSONDecodeError:
            data = None
        anthropic_shape = isinstance(data, dict) and data.get("type") == "error"
        if anthropic_shape or (ctx is not None and (ctx.state.get(WIRE) or {}).get("claude")):
            error = ANTHROPIC.parse_error(status, headers, content)
            if error.retry_after is None:
                _, delay = google_error(content, status)
                if delay:
                    error = UpstreamError(error.status, error.error_type, error.message, delay)
            return error
        return super().parse_error(status, headers, content, ctx)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if (ctx.state.get(WIRE) or {}).get("claude"):
            return ANTHROPIC.translate_message(content, content_type, ctx)  # named as the client asked
        return super().translate_message(content, content_type, ctx)

    def stream(self, ctx: RequestContext, content_type: str) -> StreamTranslator:  # type: ignore[override]
        if (ctx.state.get(WIRE) or {}).get("claude"):
            return ANTHROPIC.stream(ctx, content_type)
        return super().stream(ctx, content_type)


ADAPTER = VertexAdapter()
