"""RQ jobs of features built beside `worker.py` (its runtime and store connection are reused)."""
