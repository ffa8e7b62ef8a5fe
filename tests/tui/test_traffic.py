"""The Overview's live metrics: per-provider rows and a sparkline from /api/metrics polls, circuit states
in colour."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable, Sparkline, Static

from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import proxied_config, settle, wait_for
from tests.tui.test_live import send
from tui.app import CcmApp
from tui.traffic import TrafficPanel


async def test_provider_rows_follow_a_live_proxy(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    upstream: FakeUpstream,
    proxy_in_thread: Callable[[Path], RunningProxy],
) -> None:
    config = proxied_config(isolated_env / "config.toml", upstream.url)
    # type anthropic: its 400 is the request's fault and passes through (another host's would fail over)
    config.write_text(
        config.read_text().replace('provider_type = "anthropic-compatible"', 'provider_type = "anthropic"')
    )
    upstream.script(Reply(200, json=anthropic_message("ok")), Reply.error(400, "no", "invalid_request_error"))
    proxy = proxy_in_thread(config)
    app = make_app(config, poll_interval=0.1)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.query_one("#provider-metrics", DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        assert [str(c) for c in table.get_row("fake")] == ["fake", "0", "0", "—", "—", "closed"]
        assert await send(proxy.url) == 200
        assert await send(proxy.url) == 400
        await wait_for(pilot, lambda: str(table.get_row("fake")[1]) == "2")
        row = table.get_row("fake")
        assert str(row[2]) == "1" and row[2].style == "red"  # the passed-through 400
        assert row[3] != "—"  # a p50 from the answered request
        assert row[5].style == "green"
        spark = app.query_one("#traffic", Sparkline)
        await wait_for(pilot, lambda: sum(spark.data or []) == 2)  # both requests, once each, in the history
        assert "2 requests" in str(app.query_one("#traffic-title", Static).render())


async def test_circuit_states_are_coloured_and_a_restart_starts_the_history_again(
    make_app: Callable[..., CcmApp],
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.query_one(TrafficPanel)
        assert "the proxy is stopped" in str(app.query_one("#traffic-title", Static).render())

        def metrics(total: int, circuits: dict[str, tuple[str, float | None]]) -> dict[str, object]:
            return {
                "requests": {"total": total},
                "tokens": {"input": 1500},
                "cost_usd": 0.25,
                "providers": {
                    name: {
                        "requests": total,
                        "errors": 0,
                        "latency_ms": {"p50": 1200},
                        "cost_usd": 0.25,
                        "circuit": state,
                        "circuit_until": until,
                    }
                    for name, (state, until) in circuits.items()
                },
            }

        now = app.clock()
        panel.show(metrics(5, {"a": ("open", now + 30), "b": ("half_open", None), "c": ("closed", None)}))
        panel.show(metrics(9, {"a": ("open", now + 30), "b": ("half_open", None), "c": ("closed", None)}))
        await pilot.pause()
        table = app.query_one("#provider-metrics", DataTable)
        a, b, c = (table.get_row(k)[5] for k in "abc")
        assert (str(a), a.style) == ("open 30 s", "bold red")
        assert (str(b), b.style) == ("half-open", "yellow")
        assert (str(c), c.style) == ("closed", "green")
        assert str(table.get_row("a")[4]) == "$0.2500"
        assert panel.history[-1] == 4  # 9 - 5: the sparkline plots requests per poll
        panel.show(metrics(2, {"c": ("closed", None)}))  # the total went down: the proxy restarted
        assert panel.history[-1] == 4 and table.row_count == 1


async def test_a_subscription_costs_plan(make_app: Callable[..., CcmApp], config_path: Path) -> None:
    config_path.write_text(
        config_path.read_text()
        + '\n[[providers]]\nname = "claude"\nprovider_type = "anthropic"\nauth_type = "passthrough"\n'
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        row = {"requests": 3, "errors": 0, "latency_ms": {}, "cost_usd": 0.0, "circuit": "closed"}
        app.query_one(TrafficPanel).show({"requests": {"total": 3}, "providers": {"claude": row, "zai": row}})
        table = app.query_one("#provider-metrics", DataTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        assert str(table.get_row("claude")[4]) == "plan" and str(table.get_row("zai")[4]) == "—"
