"""Part I data and operators: synthetic graph datasets, benchmark loaders, line-graph aggregation."""
