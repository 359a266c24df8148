"""`python -m ucterm` runs the same entry point as the console script."""

from ucterm.cli import main

raise SystemExit(main())
