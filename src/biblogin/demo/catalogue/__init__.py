"""The demo catalogue (data.py) and its loader (load.py)."""
