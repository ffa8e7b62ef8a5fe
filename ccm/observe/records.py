"""From the dispatcher's Done to the request log's RequestRecord: the one record every consumer shares.

Pure: the app calls `to_record` once per finished request, then the request log hands the record to the
ring buffer, the live feed, metrics and the JSONL journal.
"""

from __future__ import annotations

from typing import Any

from ccm.dispatch.relay import Done
from ccm.observe.metrics import cost_usd
from ccm.observe.requestlog import AttemptRecord, RequestRecord
from ccm.routing import resolve
from config.catalog import PRICE_TABLE_PROVIDERS
from config.errors import RoutingError
from config.schema import AS_ASKED, Config, Mapping, ProviderConfig


def mapping_for(config: Config, routed_model: str, provider: str | None, actual_model: str | None) -> Mapping | None:
    """The configured mapping that answered (for its prices); None for an explicit `provider,model`."""
    if provider is None or actual_model is None:
        return None
    model = config.model(routed_model)
    if model is None:
        return None
    for mapping in model.mappings:
        if mapping.provider.lower() == provider.lower() and mapping.actual_model in (actual_model, AS_ASKED):
            return mapping  # a "*" mapping answered with the name asked for
    return None


def request_outcome(done: Done) -> str:
    """ok | passed_through | failed | cut | client_left | not_served | ccm_error | prewarm (see
    RequestRecord.outcome)."""
    if done.flag == "ccm_error" or any(t.outcome == "ccm_error" for t in done.tried):
        return "ccm_error"  # a bug of ours showed, even when a later mapping answered: counted, never hidden
    if done.flag == "prewarm":
        return "prewarm"
    if done.status == 499:
        return "client_left"
    if done.status < 400:
        return "ok"
    if done.provider is None:
        return "not_served" if done.attempts == 0 else "failed"
    return "passed_through" if done.status < 500 else "cut"


def inferred_attempts(done: Done, latency_ms: int, config: Config | None, routed_model: str) -> list[AttemptRecord]:
    """The attempts, when the dispatcher gave no per-attempt records: a dispatcher that tries each mapping
    once, in chain order, tried the chain's first `done.attempts` mappings; the ones before the last failed
    over (their status and time unknown: None and 0)."""
    if done.provider == "local":
        return []
    chain: list[tuple[str, str]] = []
    if config is not None and done.attempts > 0:
        try:
            chain = [(a.provider.name, a.actual_model) for a in resolve(routed_model, config)][: done.attempts]
        except RoutingError:
            chain = []
    out: list[AttemptRecord] = []
    if done.provider is None:  # every mapping failed: the last one's status is the answer's
        for i, (provider, model) in enumerate(chain):
            last = i == len(chain) - 1
            out.append(AttemptRecord(provider, model, "failed_over", done.status if last else None, 0))
        return out
    if done.actual_model is None:
        return []
    out += [AttemptRecord(provider, model, "failed_over", None, 0) for provider, model in chain[:-1]]
    refused = 400 <= done.status < 500 and done.status != 499
    outcome = "passed_through" if refused else "ok"
    out.append(AttemptRecord(done.provider, done.actual_model, outcome, done.status, latency_ms))
    return out


def to_record(
    done: Done,
    *,
    record_id: int,
    time: float,
    body: dict[str, Any],
    route: str,
    routed_model: str,
    latency_ms: int,
    config: Config | None,
    kind: str = "messages",
    started: float | None = None,
    client: str | None = None,
    session: str | None = None,
) -> RequestRecord:
    """`started`: the request's perf_counter at arrival; with Done.at it gives the time to first token.
    `client`: the [[clients]] name that sent it (None: the router key or no key)."""
    usage = done.usage
    stream = bool(body.get("stream"))
    cost, pricing, price_key = _pricing(done, config, routed_model)
    if done.flag == "prewarm":  # answered by ccm itself: nothing was spent
        cost, pricing, price_key = 0.0, None, None
    ttft = done.ttft_ms
    if ttft is None and done.status < 400 and started is not None:
        ttft = min(latency_ms, max(0, round((done.at - started) * 1000)))
    return RequestRecord(
        id=record_id,
        time=time,
        model=str(body.get("model")),
        route=route,
        routed_model=routed_model,
        provider=done.provider,
        actual_model=done.actual_model,
        status=done.status,
        attempts=list(done.tried) or inferred_attempts(done, latency_ms, config, routed_model),
        latency_ms=latency_ms,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens,
        cache_write_tokens=usage.cache_creation_input_tokens,
        cost_usd=cost,
        ttft_ms=ttft,
        retries=done.retries,
        outcome=request_outcome(done),
        rate_limit=done.rate_limit,
        stream=stream,
        error=done.error,
        kind=kind,
        client=client or "-",
        session=session,
        pricing=pricing,
        price_key=price_key,
    )


PLAN_AUTH = frozenset({"passthrough", "oauth"})
"""Subscriptions: Claude Pro/Max through Claude Code's login, ChatGPT Plus/Pro through ccm's. They cost 0 a request."""
TABLE_AUTH = frozenset({"apikey", "adc"})
"""Logins billed per token, whose answers the maintained price table prices when the mapping has no prices."""


def price_source(mapping: Mapping | None, provider: ProviderConfig) -> str | None:
    """Where the cost of what a mapping (`mapping_for`'s) of `provider` serves comes from: "config" (its own
    price keys win), "plan" (a subscription: 0), "table" (the price table, for an API-key or ADC provider of
    a type it covers, when it knows the model: ccm.observe.prices), or None. The request log and the
    budgets both ask it."""
    if mapping is not None and mapping.priced:
        return "config"
    if provider.auth_type in PLAN_AUTH:
        return "plan"
    if provider.auth_type in TABLE_AUTH and provider.provider_type in PRICE_TABLE_PROVIDERS:
        return "table"
    return None


def _pricing(done: Done, config: Config | None, routed_model: str) -> tuple[float | None, str | None, Any]:
    """(cost, where it comes from, price-table key): a table price is left to the journal, which prices it
    off the request path (ccm.observe.prices); anything without a source has no cost."""
    if config is None or done.provider is None or done.actual_model is None:
        return None, None, None
    provider = config.provider(done.provider)
    if provider is None:
        return None, None, None
    mapping = mapping_for(config, routed_model, done.provider, done.actual_model)
    source = price_source(mapping, provider)
    usage = done.usage
    if source == "config" and mapping is not None:
        cost = cost_usd(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_input_tokens,
            usage.cache_creation_input_tokens,
            mapping,
        )
        return (None if cost is None else round(cost, 8)), "config", None
    if source == "plan":
        return 0.0, "plan", None
    tokens = (
        usage.input_tokens + usage.output_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    )
    if tokens and source == "table":
        return None, None, (provider.provider_type, done.actual_model)
    return None, None, None
