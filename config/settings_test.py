"""Settings for the test suite: the base settings with cheap hashing and per-worker isolation.

Only what makes tests fast and parallel differs from ``config.settings``; the tests that are
about hashing itself put the production cost back (the ``production_hashing`` fixture).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from config.settings import *  # noqa: F403
from config.settings import CACHES, DATABASES, MIDDLEWARE, PASSWORD_HASHERS, REDIS_URL

# Django users (staff): MD5 first, so making and checking test passwords costs microseconds;
# the production hashers stay listed, so hashes made with them still verify.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]

# The test client loads the middleware for every client: WhiteNoise's scan of the static files
# (24 ms) once per process instead (tests/static_files.py).
MIDDLEWARE = [
    "tests.static_files.WhiteNoiseScannedOnce"
    if m == "whitenoise.middleware.WhiteNoiseMiddleware"
    else m
    for m in MIDDLEWARE
]

# Simulated borrowers' PINs: still Argon2id and a real verification, at the smallest cost
# argon2 allows (8 KiB, one pass) instead of OWASP's 19 MiB x 2 (R-BC-5 in production).
PIN_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}

# PostgreSQL: the transactional tests' flush deletes rows instead of truncating every table
# (config/postgresql_test_backend), and a commit does not wait for its WAL to reach the disk:
# the test database is thrown away, and durability is not what any test is about.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql_test_backend"
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"

# pytest-xdist: each worker has its own test database (pytest-django adds _gw0, _gw1 …) and,
# on Redis, its own database number (REDIS_URL's + the worker's index): the tests' cache.clear()
# is a FLUSHDB, which a key prefix would not confine.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _WORKER.startswith("gw"):
    _url = urlsplit(REDIS_URL)
    _db = int(_url.path.strip("/") or "0") + int(_WORKER[2:])
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_db}"))
    CACHES["default"]["LOCATION"] = REDIS_URL
    # The bulkhead/breaker cache is a copy of the default on Redis: the same worker's number.
    if "redis" in CACHES["library_guard"]["BACKEND"].lower():
        CACHES["library_guard"]["LOCATION"] = REDIS_URL
