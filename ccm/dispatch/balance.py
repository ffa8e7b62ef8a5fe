"""Load balancing among mappings of equal priority, and session stickiness.

    balancer.order(candidates, strategy, session)   # candidates reordered within each priority
    balancer.answered(session, candidate, ttfb_ms)  # the session sticks to it; its latency is noted
    balancer.failed(session, candidate)             # the session is free to move

Strategies (`[load_balancing] strategy`): "priority" keeps file order; "round-robin" rotates; "weighted"
draws by `weight`; "latency" puts the lowest p50 time to first event (its last 50 answers) first, with 5%
of requests exploring so a recovered provider is noticed. A request with `x-claude-code-session-id` sticks
to the mapping its session's first request got, until that one fails: the provider's prompt cache and the
conversation's thinking stay with one provider.
"""

from __future__ import annotations

import itertools
import random
import statistics
from collections import OrderedDict, deque
from collections.abc import Sequence

from ccm.routing import Candidate

SAMPLES = 50
EXPLORE = 0.05
MAX_SESSIONS = 4096

Key = tuple[str, str]


def key_of(candidate: Candidate) -> Key:
    return (candidate.provider.name.lower(), candidate.actual_model)


class Balancer:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._turns: dict[tuple[Key, ...], itertools.count[int]] = {}
        self._latency: dict[Key, deque[float]] = {}
        self._sessions: OrderedDict[str, Key] = OrderedDict()

    def order(self, candidates: Sequence[Candidate], strategy: str, session: str | None = None) -> list[Candidate]:
        out: list[Candidate] = []
        sticky = self._sessions.get(session) if session else None
        for _, group_iter in itertools.groupby(candidates, key=lambda a: a.priority):
            group = list(group_iter)
            if len(group) > 1:
                group = self._arrange(group, strategy)
                if sticky is not None:
                    group.sort(key=lambda a: key_of(a) != sticky)  # stable: the sticky one first
            out += group
        return out

    def _arrange(self, group: list[Candidate], strategy: str) -> list[Candidate]:
        if strategy == "round-robin":
            turn = self._turns.setdefault(tuple(key_of(a) for a in group), itertools.count())
            start = next(turn) % len(group)
            return group[start:] + group[:start]
        if strategy == "weighted":
            return self._weighted(group)
        if strategy == "latency":
            if self._rng.random() < EXPLORE:
                shuffled = group[:]
                self._rng.shuffle(shuffled)
                return shuffled
            return sorted(group, key=lambda a: self.p50(key_of(a)))  # stable: unmeasured (0) first
        return group

    def _weighted(self, group: list[Candidate]) -> list[Candidate]:
        """A weighted draw without replacement: the first is chosen with probability weight / total."""
        left = group[:]
        out: list[Candidate] = []
        while left:
            total = sum(max(0, a.weight) for a in left)
            if total <= 0:
                return out + left
            pick = self._rng.uniform(0, total)
            for i, candidate in enumerate(left):
                pick -= max(0, candidate.weight)
                if pick <= 0 or i == len(left) - 1:
                    out.append(left.pop(i))
                    break
        return out

    def p50(self, key: Key) -> float:
        samples = self._latency.get(key)
        return statistics.median(samples) if samples else 0.0

    def answered(self, session: str | None, candidate: Candidate, ttfb_ms: float) -> None:
        key = key_of(candidate)
        self._latency.setdefault(key, deque(maxlen=SAMPLES)).append(ttfb_ms)
        if session and session not in self._sessions:
            self._sessions[session] = key
            if len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        elif session:
            self._sessions.move_to_end(session)

    def failed(self, session: str | None, candidate: Candidate) -> None:
        if session and self._sessions.get(session) == key_of(candidate):
            del self._sessions[session]
