"""ccm: Claude Code Mux, a routing and failover proxy that speaks the Anthropic Messages API."""

__version__ = "0.1.0"
