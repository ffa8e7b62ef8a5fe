"""What a [[clients]] key may do with a request, once it is routed: the one gate every endpoint calls
(/v1/messages, count_tokens and the OpenAI clients' endpoints: ccm.api.messages.make_endpoints routes them all).

    client, refusal = caller(snapshot, headers)                   # the edge named it (ccm.api.guard)
    decision = within_globs(client, decision, config)             # or a Refusal (403)
    attempts = admit(client, decision, attempts, config, limits)  # or a Refusal (403, 429)
    result = for_client(result, decision)                         # the answer, naming no provider

Globs match the routed [[models]] name after every rule. A rule that routed outside them (think,
background, websearch, long context, a subagent tag, auto-map) falls back to `router.default` when the
globs allow it: the client is still served, on the model it may use. A model the client named itself, and
`provider,model` unless a glob matches that literal text, is a 403 naming the model: asking for it again
would not help. The router key (the operator's) never comes here: no globs, no limits.

A client with `monthly_usd` cannot use a mapping whose price is unknown: such mappings are left out, and
a model with none left is a 403. For a client, answers name only the configured model: `x-ccm-provider`
and `x-ccm-actual-model` are dropped and error messages from upstreams replaced (the operator's request
log keeps the details).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping

import orjson

from ccm.api.client_limits import ClientLimits
from ccm.api.guard import Refusal, client_of
from ccm.dispatch.attempt import Result
from ccm.dispatch.inbound import Encoder
from ccm.observe import prices
from ccm.observe.records import mapping_for, price_source
from ccm.routing import Candidate, RoutingDecision
from ccm.serve.state import Snapshot
from ccm.sse import encode
from ccm.translate.anthropic import Frame, error_body
from config.schema import ClientConfig, Config

_HIDDEN = ("x-ccm-provider", "x-ccm-actual-model")
_KEPT_MESSAGES = ("prompt is too long",)
"""Upstream error texts a client still gets as they are: Claude Code reads this one to compact."""
_STREAM_ERRORS = ("overloaded_error", "timeout_error", "rate_limit_error")
_WORDS = {
    400: "the request was refused upstream",
    401: "the upstream refused ccm's credential",
    403: "the upstream refused ccm's credential",
    404: "the upstream does not know the model",
    408: "the upstream timed out",
    413: "the request is too large for the upstream",
    422: "the request was refused upstream",
    429: "the upstream is rate-limited",
    504: "the upstream timed out",
    529: "the upstream is overloaded",
}


def caller(snapshot: Snapshot, headers: Mapping[str, str]) -> tuple[ClientConfig | None, Refusal | None]:
    """The [[clients]] entry the edge identified (None: the operator or no key), or a 401 when the client
    left the config between the edge and here (a reload)."""
    name = client_of(headers)
    if name is None:
        return None, None
    client = snapshot.config.client(name)
    if client is None:
        return None, Refusal(401, "authentication_error", f"client '{name}' is no longer configured")
    return client, None


def within_globs(client: ClientConfig, decision: RoutingDecision, config: Config) -> RoutingDecision | Refusal:
    """The decision when its model is open to the client; router.default when a rule chose a model outside
    the globs and the default is open; else a 403 naming the model."""
    if client.allows(decision.model):
        return decision
    named = decision.rule == "explicit" or (decision.rule == "default" and decision.auto_mapped_to is None)
    default = config.router.default
    if not named and default and client.allows(_canonical(default, config)):
        return dataclasses.replace(decision, rule="default", model=_canonical(default, config))
    allowed = ", ".join(client.models)
    return Refusal(
        403,
        "permission_error",
        f"model '{decision.model}' is not open to client '{client.name}' (its models: {allowed})",
    )


def _canonical(name: str, config: Config) -> str:
    model = config.model(name) if "," not in name else None
    return model.name if model is not None else name


def price_known(config: Config, decision: RoutingDecision, candidate: Candidate) -> bool:
    """Whether what this mapping serves can be priced, as the request log will price it (ccm.observe.records.
    price_source); a table price only when the table knows the model (it is loaded at start when a client
    has a budget: ccm.serve.app). The one place a budget asks it."""
    provider = candidate.provider
    source = price_source(mapping_for(config, decision.model, provider.name, candidate.actual_model), provider)
    if source == "table":
        return prices.table_knows(provider.provider_type, candidate.actual_model)
    return source is not None


def admit(
    client: ClientConfig,
    decision: RoutingDecision,
    attempts: list[Candidate],
    config: Config,
    limits: ClientLimits | None,
    *,
    counted: bool = True,
) -> list[Candidate] | Refusal:
    """The attempts this client may use, admitted against its limits (`counted`: false for count_tokens,
    which neither counts nor is limited); or the refusal."""
    if client.monthly_usd is not None and counted:
        priced = [a for a in attempts if price_known(config, decision, a)]
        if not priced:
            return Refusal(
                403,
                "permission_error",
                f"model '{decision.model}' has no price (its mappings set no price_in/price_out and the price "
                f"table does not know them), and client '{client.name}' has a monthly_usd budget: it may use "
                "only priced models",
            )
        attempts = priced
    if counted and limits is not None:
        refusal = limits.admit(client, config.failover.max_retry_after_ms)
        if refusal is not None:
            return refusal
    return attempts


def for_client(result: Result, decision: RoutingDecision, *, stream_scrubbed: bool = False) -> Result:
    """The answer as a client sees it: no provider or actual model in its headers or error messages.
    `stream_scrubbed`: the stream's errors were already replaced as it was encoded (an OpenAI client's
    stream, through ClientEncoder)."""
    for name in _HIDDEN:
        result.headers.pop(name, None)
    if result.stream is not None:
        if not stream_scrubbed:
            result.stream = _scrubbed_stream(result.stream, decision.model)
    elif result.status >= 400:
        result.body = _scrubbed_error(result.body, result.status, decision.model)
    return result


def _message(status: int, model: str) -> str:
    words = _WORDS.get(status) or ("the upstream failed" if status >= 500 else "the request was refused upstream")
    return f"model '{model}' could not answer: {words} ({status}); the request log of ccm's operator has the details"


def unfinished(model: str) -> str:
    """What a client's stream says when it cannot finish, whoever failed and however they said it."""
    return f"model '{model}' could not finish its answer (the request log of ccm's operator has the details)"


def stream_error_kind(error_type: object) -> str:
    """The kinds a client's stream error may name: what it can act on (wait, retry), else api_error."""
    return error_type if isinstance(error_type, str) and error_type in _STREAM_ERRORS else "api_error"


def _scrubbed_error(body: bytes, status: int, model: str) -> bytes:
    try:
        data = orjson.loads(body)
        error = data["error"]
        message = str(error.get("message", ""))
        kind = str(error.get("type", "api_error"))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return orjson.dumps(error_body("api_error", _message(status, model)))
    if message.startswith(_KEPT_MESSAGES):
        return body
    return orjson.dumps(error_body(kind, _message(status, model)))


async def _scrubbed_stream(stream: AsyncIterator[bytes], model: str) -> AsyncIterator[bytes]:
    """An Anthropic stream whose error events (an upstream's own, or the relay's naming a cut) say only the
    model. ccm writes every event of this wire itself, so an error event always starts `event: error`."""
    try:
        async for chunk in stream:
            yield _scrubbed_events(chunk, model) if b"event: error" in chunk else chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _scrubbed_events(chunk: bytes, model: str) -> bytes:
    """The relay writes whole events per chunk: each error event is replaced by one naming the model."""
    out: list[bytes] = []
    for event in chunk.split(b"\n\n"):
        if event.startswith(b"event: error"):
            kind = next((k for k in _STREAM_ERRORS if k.encode() in event), "api_error")
            out.append(encode("error", error_body(kind, unfinished(model))).rstrip(b"\n"))
        else:
            out.append(event)
    return b"\n\n".join(out)


class ClientEncoder:
    """An OpenAI client's stream for a [[clients]] key (ccm.dispatch.inbound.Encoder): every error, an
    upstream's own event in whatever form its wire allowed or the relay's for a cut or a stall, goes out
    as the client's wire's own error naming only the model, of a kind from a short list.

    Why here and not on the bytes: a passed-through upstream writes its events itself, and the same error
    has several spellings on the wire; the frames are already labelled, so the label decides."""

    def __init__(self, inner: Encoder, model: str) -> None:
        self._inner = inner
        self._model = model

    def frames(self, frames: list[Frame]) -> bytes:
        out: list[bytes] = []
        start = 0
        for index, frame in enumerate(frames):
            if frame.event == "error":
                out.append(self._inner.frames(frames[start:index]))
                error = (frame.data or {}).get("error")
                out.append(self.error(error.get("type") if isinstance(error, dict) else None, ""))
                start = index + 1
        out.append(self._inner.frames(frames[start:]))
        return b"".join(out)

    def ping(self) -> bytes:
        return self._inner.ping()

    def error(self, error_type: object, message: str) -> bytes:
        return self._inner.error(stream_error_kind(error_type), unfinished(self._model))
