"""`python -m ccm serve ...`: the server's own entry point (never imports typer or textual)."""

import gc
import sys

# The collector would run hundreds of times over the start-up's imports (a tenth of them); it is
# set for serving, with start-up frozen out of its sight, once the app is built (ccm.serve.main._tune_gc).
gc.disable()

from ccm.serve.main import main  # noqa: E402

sys.exit(main())
