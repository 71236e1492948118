"""`python -m bot`: run the CLI (e.g. `python -m bot serve`)."""

import sys

from bot.cli import main

sys.exit(main())
