"""scholarflow: research-output ETL (sources -> polars -> DuckDB -> SQL views -> CSV)."""

import os

# Prefect's analytics ping the network and, with its SQLite backend, cause "database is locked"
# errors here; the project default is off (a user can still set it explicitly).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# The temporary server migrates a fresh SQLite database before it answers; Prefect gives it 20 s
# (counting only its own sleeps), which a loaded CI machine overran. Allow more by default.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

__version__ = "0.1.0"
