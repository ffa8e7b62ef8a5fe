"""bench/compare.py keeps working: it imports, and its pure parts (percentile, the bar, the table, ccm's
config) behave. Nothing here starts a proxy or times anything."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

from config.load import parse_config

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


compare = load("compare")
# compare.py imports its helpers by their own names
procs, cmp = sys.modules["cmp_procs"], sys.modules["cmp_table"]


def test_percentile_is_nearest_rank_and_nan_when_empty() -> None:
    assert cmp.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert cmp.percentile([1.0, 2.0], 0.99) == 2.0
    assert math.isnan(cmp.percentile([], 0.5))
    assert cmp.median_rounds([[1.0, 10.0], [3.0, 30.0], [2.0, 20.0]]) == [2.0, 20.0]


def test_table_has_the_ratio_and_the_bar() -> None:
    rows = cmp.rows(106)
    results = {
        "hello_p50": {"ccm": [0.8], "CCR": [1.13]},  # 0.71× ≤ 0.8×: pass
        "hello_rps": {"ccm": [503.0], "CCR": [806.0]},  # 0.62× < 1.25×: fail
        "startup": {"ccm": [0.31, 0.42]},  # absolute bar, no CCR needed
        "stream_c1": {"ccm": [3.0, 5.0]},  # relative bar without CCR: no verdict
    }
    table = cmp.render_table(rows, results).splitlines()
    assert table[0].startswith("| figure | ccm | CCR 2.0.0 | ccm / CCR | bar |")
    assert len(table) == 2 + 4
    assert table[2] == '| "hello", non-stream, added p50 at c=1 | +0.80 ms | +1.13 ms | 0.71× | ≤ 0.8× ✓ |'
    assert table[3].endswith("| 503 | 806 | 0.62× | ≥ 1.25× ✗ |")
    assert table[4].endswith("| +3.00 / +5.00 ms | — | — | ≤ 0.8× ? / ≤ 1× ? |")
    assert table[5].endswith("| 0.31–0.42 s | — | — | ≤ 0.5 s ✓ |")


def test_ccm_config_loads_and_resilience_switches_retries_and_breaker() -> None:
    off = parse_config(procs.ccm_config(1111, 2222, resilience=False)).config
    on = parse_config(procs.ccm_config(1111, 2222, resilience=True)).config
    assert (off.failover.max_retries, off.failover.circuit_failures) == (0, 1_000_000)
    assert (on.failover.max_retries, on.failover.circuit_failures) == (1, 5)
    assert off.providers[0].provider_type == "openai-compatible"
    assert off.server.port == 2222


def test_baseline_flags_a_row_worse_by_more_than_five_percent() -> None:
    assert cmp.worse_by("rps", [90.0], [100.0]) == [0.1]
    assert cmp.worse_by("added", [1.0, 2.0], [1.0, 4.0]) == [0.0, -0.5]
    then = {"meta": {"resilience": "off"}, "rows": {"hello_rps": {"ccm": [100.0]}, "hello_p50": {"ccm": [2.0]}}}
    now = {
        "meta": {"resilience": "on"},
        "rows": {
            "hello_rps": {"label": "rps", "kind": "rps", "ccm": [97.0]},
            "hello_p50": {"label": "p50", "kind": "added", "ccm": [2.2]},
        },
    }
    lines = cmp.render_baseline(now, then).splitlines()
    assert lines == ["ccm against the baseline (off → on):", "  rps: +3.0% worse ✓", "  p50: +10.0% worse ✗"]


def test_both_resiliences_side_by_side_are_compared_row_by_row() -> None:
    report = {
        "meta": {"resilience": "both"},
        "rows": {
            "hello_p50": {"label": "hello p50", "kind": "added", "ccm": [1.0], "ccm-on": [1.03], "CCR": [2.0]},
            "hello_rps": {"label": "hello rps", "kind": "rps", "ccm": [1000.0], "ccm-on": [900.0]},
            "rss": {"label": "rss", "kind": "mib", "ccm": [36.0, 60.0]},  # no second ccm: left out
        },
    }
    lines = compare.render_baseline(*compare.resilience_split(report)).splitlines()
    assert lines[0] == "ccm against the baseline (off → on):"
    assert lines[1:] == ["  hello p50: +3.0% worse ✓", "  hello rps: +10.0% worse ✗"]
