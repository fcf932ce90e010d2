"""The demo: a realistic sample data set loaded through the store's write path (``hub demo``)."""
