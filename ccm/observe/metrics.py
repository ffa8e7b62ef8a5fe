"""Since-start counters for /api/metrics (JSON) and /metrics (Prometheus), fed once per finished request.

Memory stays flat: every figure is a counter keyed by a bounded label set (routes, configured models,
providers, statuses), and latency and time to first token are histogram buckets, never kept samples; the
quantiles in the JSON are read from those buckets as Prometheus's histogram_quantile would.

    metrics = Metrics(canonical_model=lambda name: ...)   # a configured model's name, else None
    metrics.observe(record)                               # one RequestRecord per finished request
    metrics.count_tokens(route, model, provider)          # count_tokens: counted here and nowhere else
    metrics.snapshot(circuits)                            # the /api/metrics JSON (README, HTTP API)
    metrics.prometheus(circuits)                          # text exposition (bytes)

`circuits` is the circuit breaker's read side: provider name -> (state, until), state one of closed,
half_open, open, and until the epoch second an open circuit will let a probe through (None otherwise).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any

from ccm.observe.requestlog import RequestRecord

Circuits = AbcMapping[str, tuple[str, float | None]]

#: Upper bounds in seconds; +Inf is implied. Dense below 10 s, where first tokens and short answers fall.
BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600)
CIRCUIT_VALUES = {"closed": 0, "half_open": 1, "open": 2}
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write")
RATE_LIMIT_HEADERS = ("anthropic-ratelimit-unified-representative-claim",)
EXPLICIT = "explicit"
NONE = "none"
"""The provider label of a request nothing answered."""


def rate_limit_claim(headers: AbcMapping[str, str]) -> str | None:
    """Which limit a 429 hit, when the upstream says (Anthropic's subscription plans: `five_hour`, ...)."""
    for name in RATE_LIMIT_HEADERS:
        value = headers.get(name)
        if value:
            return value.strip()[:64]
    return None


def cost_usd(
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int,
    cache_write_tokens: int,
    prices: Any,
) -> float | None:
    """USD for one answer from a mapping's prices (per million tokens); None when it has none.

    `prices` is anything with price_in/price_out/price_cache_read/price_cache_write (a config Mapping).
    Cache reads and writes without their own price cost what uncached input costs.
    """
    if prices is None or (prices.price_in is None and prices.price_out is None):
        return None
    price_in = prices.price_in or 0.0
    read = price_in if prices.price_cache_read is None else prices.price_cache_read
    write = price_in if prices.price_cache_write is None else prices.price_cache_write
    total = (
        input_tokens * price_in
        + output_tokens * (prices.price_out or 0.0)
        + cache_read_tokens * read
        + cache_write_tokens * write
    )
    return total / 1_000_000


@dataclass(slots=True)
class Histogram:
    """Bucket counts (non-cumulative, last one +Inf), their sum and count."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def add(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds
        self.n += 1

    def quantile(self, q: float) -> float | None:
        """Seconds, interpolated inside the bucket that holds the q-th observation; None when empty."""
        if self.n == 0:
            return None
        rank = q * self.n
        seen = 0
        for i, count in enumerate(self.counts):
            if count and seen + count >= rank:
                low = BUCKETS[i - 1] if i > 0 else 0.0
                if i == len(BUCKETS):  # past the last bound: the bound is all that is known
                    return BUCKETS[-1]
                return low + (BUCKETS[i] - low) * ((rank - seen) / count)
            seen += count
        return BUCKETS[-1]

    def cumulative(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, count in zip((*map(str, map(float, BUCKETS)), "+Inf"), self.counts, strict=True):
            running += count
            out.append((bound, float(running)))
        return out


@dataclass(slots=True)
class Durations:
    """Request time and time to first token of answered requests, for one (provider, client) series."""

    latency: Histogram = field(default_factory=Histogram)
    ttft: Histogram = field(default_factory=Histogram)


@dataclass(slots=True)
class _Provider:
    requests: int = 0
    attempts: int = 0
    retries: int = 0
    failovers: int = 0
    errors: int = 0
    latency: Histogram = field(default_factory=Histogram)
    ttft: Histogram = field(default_factory=Histogram)


class Metrics:
    """See the module docstring. Methods are called on the event loop; a lock guards scrapes from threads."""

    def __init__(self, canonical_model: Callable[[str], str | None] | None = None, started_at: float | None = None):
        self.started_at = time.time() if started_at is None else started_at
        self._canonical = canonical_model or (lambda name: name)
        self.lock = threading.Lock()
        """Held while counting and while a scrape reads (ccm.observe.prometheus): a scrape may come from a thread."""
        # Per-request series carry the client ([[clients]] name, "-" for the router key or none): bounded by
        # the config like every other label.
        self.requests: Counter[tuple[str, str, str, str, str]] = Counter()  # route, model, provider, status, client
        self.attempts: Counter[tuple[str, str]] = Counter()  # provider, outcome
        self.tokens: Counter[tuple[str, str, str, str]] = Counter()  # provider, model, kind, client
        self.cost: defaultdict[tuple[str, str, str], float] = defaultdict(float)  # provider, model, client
        self.durations: defaultdict[tuple[str, str], Durations] = defaultdict(Durations)  # provider, client
        self.count_tokens_calls: Counter[tuple[str, str, str]] = Counter()  # route, model, provider
        self.providers: defaultdict[str, _Provider] = defaultdict(_Provider)
        self.request_log_dropped = 0
        """Records requests.jsonl could not take (a full disk): ccm_request_log_dropped_total."""

    def model_label(self, route: str, routed_model: str) -> str:
        """A configured model's name, `explicit` for `provider,model`, else `other` (bounded cardinality)."""
        if route == EXPLICIT:
            return EXPLICIT
        return self._canonical(routed_model) or "other"

    def observe(self, record: RequestRecord) -> None:
        """Count one finished request: the one call the request log makes per record."""
        model = self.model_label(record.route, record.routed_model)
        provider = record.provider or NONE
        client = record.client
        with self.lock:
            self.requests[(record.route, model, provider, str(record.status), client)] += 1
            for attempt in record.attempts:
                stats = self.providers[attempt.provider]
                self.attempts[(attempt.provider, attempt.outcome)] += 1
                stats.attempts += 1
                if attempt.outcome == "retried":
                    stats.retries += 1
                elif attempt.outcome == "failed_over":
                    stats.failovers += 1
                if attempt.outcome in ("retried", "ccm_error"):  # a failover is counted as one, not as an error
                    stats.errors += 1
            if record.provider is None:
                return
            stats = self.providers[provider]
            stats.requests += 1
            if record.status >= 400 and record.status != 499:  # a pass-through 4xx, a cut stream
                stats.errors += 1
            if record.status < 400:
                durations = self.durations[(provider, client)]
                stats.latency.add(record.latency_ms / 1000)
                durations.latency.add(record.latency_ms / 1000)
                if record.ttft_ms is not None:
                    stats.ttft.add(record.ttft_ms / 1000)
                    durations.ttft.add(record.ttft_ms / 1000)
            for kind, count in zip(
                TOKEN_KINDS,
                (record.input_tokens, record.output_tokens, record.cache_read_tokens, record.cache_write_tokens),
                strict=True,
            ):
                if count:
                    self.tokens[(provider, model, kind, client)] += count
            if record.cost_usd:
                self.cost[(provider, model, client)] += record.cost_usd

    def dropped(self, count: int) -> None:
        """The request log lost `count` records (ccm.observe.journal's on_dropped)."""
        with self.lock:
            self.request_log_dropped += count

    def add_cost(self, record: RequestRecord) -> None:
        """A cost found after the record was counted (the price table, priced in the journal's thread)."""
        if record.provider is None or not record.cost_usd:
            return
        model = self.model_label(record.route, record.routed_model)
        with self.lock:
            self.cost[(record.provider, model, record.client)] += record.cost_usd

    def count_tokens(self, route: str, routed_model: str, provider: str | None) -> None:
        """One count_tokens call (forwarded or estimated): not a request, no latency, no breaker."""
        with self.lock:
            self.count_tokens_calls[(route, self.model_label(route, routed_model), provider or NONE)] += 1

    # -- reading ------------------------------------------------------------------------------------------
    def snapshot(self, circuits: Circuits | None = None) -> dict[str, Any]:
        """The /api/metrics JSON: requests by status/route/model/provider, per-provider figures."""
        circuits = circuits or {}
        with self.lock:
            by: dict[str, Counter[str]] = {k: Counter() for k in ("status", "route", "model", "provider")}
            for (route, model, provider, status, _client), n in self.requests.items():
                by["status"][status] += n
                by["route"][route] += n
                by["model"][model] += n
                by["provider"][provider] += n
            tokens_by_provider: defaultdict[str, Counter[str]] = defaultdict(Counter)
            for (provider, _model, kind, _client), n in self.tokens.items():
                tokens_by_provider[provider][kind] += n
            cost_by_provider: defaultdict[str, float] = defaultdict(float)
            for (provider, _model, _client), usd in self.cost.items():
                cost_by_provider[provider] += usd
            names = sorted(set(self.providers) | set(circuits))
            providers = {
                name: self._provider_json(name, tokens_by_provider[name], cost_by_provider[name], circuits)
                for name in names
            }
            total_tokens = Counter[str]()
            for counts in tokens_by_provider.values():
                total_tokens.update(counts)
            return {
                "started_at": self.started_at,
                "requests": {
                    "total": sum(self.requests.values()),
                    "by_status": dict(sorted(by["status"].items())),
                    "by_route": dict(sorted(by["route"].items())),
                    "by_model": dict(sorted(by["model"].items())),
                    "by_provider": dict(sorted(by["provider"].items())),
                },
                "providers": providers,
                "tokens": {kind: total_tokens[kind] for kind in TOKEN_KINDS},
                "cost_usd": round(sum(self.cost.values()), 6),
                "request_log": {"dropped": self.request_log_dropped},
            }

    def _provider_json(self, name: str, tokens: Counter[str], cost: float, circuits: Circuits) -> dict[str, Any]:
        stats = self.providers.get(name) or _Provider()
        state, until = circuits.get(name, ("closed", None))
        return {
            "requests": stats.requests,
            "attempts": stats.attempts,
            "retries": stats.retries,
            "failovers": stats.failovers,
            "errors": stats.errors,
            "latency_ms": _quantiles_ms(stats.latency),
            "ttft_ms": _quantiles_ms(stats.ttft),
            "tokens": {kind: tokens[kind] for kind in TOKEN_KINDS},
            "cost_usd": round(cost, 6),
            "circuit": state,
            "circuit_until": until,
        }

    def prometheus(self, circuits: Circuits | None = None) -> bytes:
        """The Prometheus text exposition, rendered by prometheus_client from a private registry."""
        from ccm.observe.prometheus import exposition  # prometheus_client costs ~100 ms: the first scrape pays it

        return exposition(self, circuits or {})


def _quantiles_ms(histogram: Histogram) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        value = histogram.quantile(q)
        out[label] = None if value is None else round(value * 1000)
    return out
