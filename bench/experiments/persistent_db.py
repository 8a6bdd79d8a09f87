"""The project's settings, with database connections kept open between requests.

For ``python -m bench.run --settings bench.experiments.persistent_db``: config/settings.py gives
SQLite ``CONN_MAX_AGE = 0``, so every request opens a connection and SQLite parses the schema
again on its first statement.
"""

from config.settings import *  # noqa: F403
from config.settings import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = None
