"""`python -m bench`: see bench/README.md for the options."""

from bench.cli import main

raise SystemExit(main())
