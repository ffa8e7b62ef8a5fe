"""Fake upstream providers: real HTTP servers on 127.0.0.1, scripted per test."""

from tests.fakes.upstream import FakeUpstream, Received, Reply, sse

__all__ = ["FakeUpstream", "Received", "Reply", "sse"]
