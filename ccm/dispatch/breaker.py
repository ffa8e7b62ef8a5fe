"""One circuit breaker per provider, shared by every model that uses it and kept across reloads.

    breakers = Breakers()
    breakers.available(provider, settings)   # False while open (the dispatcher skips the mapping)
    breakers.success(provider)                # closes it
    breakers.settle(provider, rule, settings)  # a failed attempt: counted when its rule (ccm.dispatch.policy) says
    breakers.failure(provider, settings, open_for_s=None)   # a counted failure; opens after N in a row
    breakers.reset(provider)                  # a reload that changed it, a new token, `providers enable`

Closed -> (circuit_failures consecutive transient failures) -> open for the cooldown -> half-open: one
probe request is let through; its success closes the circuit, its failure reopens it for twice as long
(at most 5 minutes). A long 429 reset opens it for that long. The breaker never refuses a request by
itself: when every mapping is open, the dispatcher still tries the one that opened first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ccm.dispatch.policy import Rule
from config.schema import FailoverConfig

MAX_COOLDOWN_S = 300.0


@dataclass(slots=True)
class Circuit:
    failures: int = 0
    opened_at: float | None = None
    until: float = 0.0
    cooldown_s: float = 0.0
    probing: bool = False
    """A half-open probe is in flight: other requests still skip the provider."""

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if now < self.until or self.probing else "half_open"


class Breakers:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._circuits: dict[str, Circuit] = {}
        self._clock = clock

    def _get(self, provider: str) -> Circuit:
        key = provider.lower()
        circuit = self._circuits.get(key)
        if circuit is None:
            circuit = self._circuits[key] = Circuit()
        return circuit

    def available(self, provider: str) -> bool:
        """Whether a request may try this provider now; a half-open circuit lets exactly one probe in."""
        circuit = self._circuits.get(provider.lower())
        if circuit is None or circuit.opened_at is None:
            return True
        if circuit.probing or self._clock() < circuit.until:
            return False
        circuit.probing = True
        return True

    def opened_at(self, provider: str) -> float:
        circuit = self._circuits.get(provider.lower())
        return circuit.opened_at if circuit and circuit.opened_at is not None else float("inf")

    def success(self, provider: str) -> None:
        circuit = self._circuits.get(provider.lower())
        if circuit is not None:
            self._circuits[provider.lower()] = Circuit()

    def failure(self, provider: str, settings: FailoverConfig, open_for_s: float | None = None) -> None:
        """A transient failure (connection, timeout, 408, 429, 5xx, 529, invalid answer)."""
        circuit = self._get(provider)
        now = self._clock()
        circuit.failures += 1
        if circuit.opened_at is not None:  # a failed probe: reopen, twice as long
            circuit.cooldown_s = min(MAX_COOLDOWN_S, circuit.cooldown_s * 2)
            self._open(circuit, now, max(circuit.cooldown_s, open_for_s or 0.0))
        elif open_for_s is not None:
            circuit.cooldown_s = settings.circuit_cooldown_ms / 1000
            self._open(circuit, now, min(MAX_COOLDOWN_S, open_for_s))
        elif circuit.failures >= settings.circuit_failures:
            circuit.cooldown_s = settings.circuit_cooldown_ms / 1000
            self._open(circuit, now, circuit.cooldown_s)

    def settle(self, provider: str, rule: Rule, settings: FailoverConfig, open_for_s: float | None = None) -> None:
        """A failed attempt: a failure for the circuit when its rule says so, else the probe is released."""
        if rule.breaker:
            self.failure(provider, settings, open_for_s)
        else:
            self.release(provider)

    def release(self, provider: str) -> None:
        """A probe that ended neither way (the request was refused for its own fault): let another in."""
        circuit = self._circuits.get(provider.lower())
        if circuit is not None:
            circuit.probing = False

    @staticmethod
    def _open(circuit: Circuit, now: float, for_s: float) -> None:
        circuit.opened_at = circuit.opened_at if circuit.opened_at is not None else now
        circuit.until = now + for_s
        circuit.probing = False

    def reset(self, provider: str) -> None:
        self._circuits.pop(provider.lower(), None)

    def states(self) -> dict[str, tuple[str, float | None]]:
        """Provider -> (closed|open|half_open, the epoch second an open circuit lets a probe in, or None),
        for /api/metrics, /metrics, `ccm status` and the TUI."""
        now = self._clock()
        wall = time.time()
        out: dict[str, tuple[str, float | None]] = {}
        for name, circuit in self._circuits.items():
            state = circuit.state(now)
            out[name] = (state, wall + max(0.0, circuit.until - now) if state == "open" else None)
        return out
