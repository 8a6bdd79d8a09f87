"""Settings variants to try a change without touching the app: ``python -m bench.run --settings
bench.experiments.<module>``, where the module starts with ``from config.settings import *``.

The first one (``persistent_db``: SQLite keeping its connections) was measured in the run of
2026-11-28 17:14 and then became the default in config/settings.py.
"""
