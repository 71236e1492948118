"""`python -m bot`: run the CLI (e.g. `python -m bot sync`); with no arguments, run the bot."""

import sys

from bot.cli import main

sys.exit(main(sys.argv[1:] or ["serve"]))
