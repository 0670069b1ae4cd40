"""Lambda: moto's functions, versions and aliases, run for real in a subprocess (runtime.py)."""
