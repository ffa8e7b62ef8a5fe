"""Cost from the maintained price table (genai-prices 0.2.x) for mappings that set no price of their own.

The table is big (its import and first lookup take ~0.4 s), so it is never loaded at start-up nor on the
request path: the journal prices the records it is about to write, in its writer thread, and the first
such record pays the import there. Only the bundled snapshot of the table is read; its runtime updater
(which would fetch prices over the network) is never used. A model the table does not know, or a type with
no table provider (config.catalog.PRICE_TABLE_PROVIDERS), has no cost, as before.

    record.price_key = ("openai", "gpt-4o")        # set by ccm.observe.records for such a mapping
    price_records([record], on_priced)             # in the writer thread: cost_usd and pricing="table"
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from ccm.observe.requestlog import RequestRecord
from config.catalog import PRICE_TABLE_PROVIDERS

log = logging.getLogger("ccm.observe.prices")


@functools.lru_cache(maxsize=256)
def _known(provider_id: str, model: str) -> bool:
    """Whether the table has this model (a miss is remembered: no repeated search, no repeated log line)."""
    from genai_prices import Usage, calc_price  # the table: ~0.4 s once, in the journal's writer thread

    try:
        calc_price(Usage(input_tokens=0, output_tokens=0), model, provider_id=provider_id)
    except LookupError:
        log.info(
            "no price for %s in the price table (provider %s): set price_in/price_out to count it", model, provider_id
        )
        return False
    return True


def load_table() -> None:
    """Load the table now (~0.4 s, once), so that no request's lookup is the one that pays for it."""
    table_knows("anthropic", "claude-sonnet-4-5")


def table_knows(provider_type: str, model: str) -> bool:
    """Whether the table prices this model on this type (its first call loads the table: ~0.4 s)."""
    provider_id = PRICE_TABLE_PROVIDERS.get(provider_type)
    return provider_id is not None and _known(provider_id, model)


def table_cost(
    provider_type: str,
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read: int,
    cache_write: int,
    at: float | None = None,
) -> float | None:
    """USD for one answer at the table's price when it was asked (`at`, epoch seconds; None: now); None when
    the table has no price for it. The time matters: some prices change with the hour (DeepSeek's off-peak
    discount, 16:30-00:30 UTC, halves them).

    Tokens are counted as Anthropic does (input excludes the cached ones); the table counts cached tokens
    inside its input, so they are added back."""
    provider_id = PRICE_TABLE_PROVIDERS.get(provider_type)
    if provider_id is None or not _known(provider_id, model):
        return None
    from genai_prices import Usage, calc_price

    usage = Usage(
        input_tokens=input_tokens + cache_read + cache_write,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    when = None if at is None else datetime.fromtimestamp(at, tz=UTC)
    return float(calc_price(usage, model, provider_id=provider_id, genai_request_timestamp=when).total_price)


def price_records(records: Iterable[RequestRecord], on_priced: Callable[[RequestRecord], None] | None = None) -> None:
    """Give each record that waits for a table price its cost (in place), and tell `on_priced` (metrics)."""
    for record in records:
        if record.price_key is None or record.cost_usd is not None:
            continue
        provider_type, model = record.price_key
        try:
            cost = table_cost(
                provider_type,
                model,
                record.input_tokens,
                record.output_tokens,
                record.cache_read_tokens,
                record.cache_write_tokens,
                record.time - record.latency_ms / 1000,  # when it was asked: `time` is when it ended
            )
        except Exception:  # a table bug must cost a price, never the record
            log.exception("pricing %s/%s from the price table failed", provider_type, model)
            cost = None
        record.price_key = None
        if cost is None:
            continue
        record.cost_usd = round(cost, 8)
        record.pricing = "table"
        if on_priced is not None:
            try:
                on_priced(record)
            except Exception:  # a listener's bug must not cost the journal its batch
                log.exception("a listener of priced records failed")
