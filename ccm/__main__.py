"""`python -m ccm serve ...`: the server's own entry point (never imports typer or textual)."""

import sys

from ccm.server import main

sys.exit(main())
