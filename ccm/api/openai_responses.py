"""`POST /v1/responses`: a Responses API client (the Codex CLI, the openai SDK) served by ccm's routing,
failover and mappings, answered in Responses events whatever served it.

As /v1/chat/completions (ccm.api.openai_chat), with the Responses wire's own pieces: think = a
`reasoning.effort` other than none/minimal, websearch = a `web_search*` tool, and `previous_response_id`,
which only the mapping that made that response can read (OpenAI keeps it; ccm keeps nothing): such a
request goes to that mapping alone when ccm remembers it (ccm.api.inbound.StickyResponses), else to the
model's Responses mappings that store responses (API-key `openai-responses`; the ChatGPT backend stores
none), and is a 400 saying so when the model has none.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccm.api import openai_errors
from ccm.api.inbound import ResponsesWire, StickyResponses
from ccm.api.openai_chat import Endpoint, Router, dispatched, routed_call
from ccm.api.openai_validate import validate_responses
from ccm.dispatch.attempt import Call, Result
from ccm.dispatch.failover import x_ccm
from ccm.dispatch.relay import Done
from ccm.routing import Candidate
from ccm.serve.services import Services
from ccm.translate.responses.inbound_request import from_responses

KIND = "responses"
"""The request log's `kind` for these requests."""


def endpoint(route: Router, services: Services, sticky: StickyResponses | None = None) -> Endpoint:
    """`sticky`: which mapping made each response (one per proxy: the endpoint is built once)."""
    sticky = sticky or StickyResponses()

    async def responses(headers: Mapping[str, str], raw: bytes, query: str) -> Result:
        routed = routed_call(KIND, raw, validate_responses, from_responses, route, headers, query)
        if isinstance(routed, Result):
            return routed
        body, inbound, call = routed
        previous = body.get("previous_response_id")
        if isinstance(previous, str) and previous:
            refusal = _stick(call, previous, sticky)
            if refusal is not None:
                return refusal
        client_model = call.decision.model if call.client is not None else None
        call.inbound = ResponsesWire(body, inbound, sticky.remember, client_model)
        return await dispatched(services, call)

    return responses


def stores_responses(attempt: Candidate) -> bool:
    """A mapping that keeps responses for `previous_response_id`: the Responses wire with an API key."""
    return attempt.provider.wire == "responses" and attempt.provider.auth_type != "oauth"


def _stick(call: Call, previous: str, sticky: StickyResponses) -> Result | None:
    """Leave only the mappings that can read `previous` (the one that made it, when known); or the 400."""
    able = [a for a in call.candidates if stores_responses(a)]
    maker = sticky.maker(previous)
    if maker is not None:
        able = [a for a in able if (a.provider.name.lower(), a.actual_model) == maker]
    if not able:
        message = (
            f"previous_response_id: model '{call.decision.model}' has no mapping that keeps the response "
            f"{previous!r} (only the Responses-API mapping that made it can continue it); send the whole "
            "conversation in `input` instead"
        )
        call.on_done(Done(400, 0, error=message))
        headers = x_ccm({"x-ccm-route": call.decision.rule, "x-ccm-model": call.decision.model}, 0, 0)
        return openai_errors.error_result(400, "invalid_request_error", message, headers, "previous_response_id")
    call.candidates = able
    return None
