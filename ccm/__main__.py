"""`python -m ccm serve ...`: the server's own entry point (never imports typer or textual)."""

import gc
import sys

# The collector would run hundreds of times over the start-up's imports (a tenth of them); it is
# set for serving, with start-up frozen out of its sight, once the app is built (ccm.serve.main._tune_gc).
gc.disable()

# httpx's package imports its command-line client (click and rich, ~70 ms of the proxy's start) and
# falls back to a stub when that import fails; the proxy never runs it (issue 12: startup <= 0.5 s).
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "cannot be imported"

from ccm.serve.main import main  # noqa: E402

sys.exit(main())
