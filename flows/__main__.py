"""`python -m flows` = the `scholarflow` console script."""

from flows.cli import main

raise SystemExit(main())
