"""The benchmark: `.venv/bin/python tests/bench/run.py` (not part of the pytest run)."""
