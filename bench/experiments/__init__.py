"""Settings variants for trying a proposed change in a benchmark run (``--settings``)."""
