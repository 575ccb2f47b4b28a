"""Aggregation of metrics files into comparison tables, figures, claims and the report."""
