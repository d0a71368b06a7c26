"""Pure polars transforms: raw source records -> the warehouse model. No IO here."""
