"""NSF Awards API awards -> the raw award table (awards are not works: nothing is staged)."""

from __future__ import annotations

import polars as pl

from transforms.specs import NSF_AWARDS as SPEC

SLUG = SPEC.slug
S = pl.String
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "awards": {
        "award_id": S(),
        "title": S(),
        "agency": S(),
        "pi_name": S(),
        "co_pi_names": pl.List(S()),
        "awardee": S(),
        "awardee_city": S(),
        "awardee_state": S(),
        "award_date": pl.Date(),
        "start_date": pl.Date(),
        "end_date": pl.Date(),
        "estimated_total_amount": pl.Int64(),
        "funds_obligated_amount": pl.Int64(),
        "program": S(),
        "transaction_type": S(),
        "abstract": S(),
        "publications": pl.List(
            pl.Struct(
                {
                    "kind": S(),
                    "citation": S(),
                    "title": S(),
                    "venue": S(),
                    "year": pl.Int32(),
                    "doi": S(),
                    "authors": S(),
                }
            )
        ),
    },
}
