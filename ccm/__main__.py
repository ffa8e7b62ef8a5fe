"""`python -m ccm serve ...`: the server's own entry point (never imports typer or textual)."""

import sys

# httpx's package imports its command-line client (click and rich, ~70 ms of the proxy's start) and
# falls back to a stub when that import fails; the proxy never runs it (issue 12: startup <= 0.5 s).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "cannot be imported"

from ccm.server import main  # noqa: E402

sys.exit(main())
