"""Scenarios driven by real clients' protocol libraries (run with /usr/bin/python3) and the
pytest side that runs them (runner.py)."""
