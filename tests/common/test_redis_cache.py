"""The scaled set-up's cache: Django's Redis backend, one redis.Redis per pool (issue 14)."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")


def _cache(prefix: str) -> Any:
    from django.conf import settings

    from biblogin.common.redis_cache import RedisCache

    # The xdist worker's own Redis database (config/settings_test.py).
    return RedisCache(settings.CACHES["default"]["LOCATION"], {"KEY_PREFIX": prefix})


def test_the_configured_cache_is_the_one_client_per_pool_backend(settings):
    assert settings.CACHES["default"]["BACKEND"] == "biblogin.common.redis_cache.RedisCache"
    assert settings.CACHES["library_guard"]["BACKEND"] == settings.CACHES["default"]["BACKEND"]


def test_each_call_reuses_one_client_on_djangos_pool_and_commands_behave_as_djangos():
    """R-LOGIN-5 and the sessions of R-SEC-1 rely on add/get/delete/incr/get_many as Django
    gives them; the client under them is made once, on Django's own connection pool."""
    cache = _cache("test-one-client")
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client() is first  # one server: reads use the same pool
    assert first.connection_pool is cache._cache._get_connection_pool(True)
    assert cache.add("k", 1, timeout=30) is True
    assert cache.add("k", 2, timeout=30) is False  # a taken key is refused (sessions rely on it)
    assert cache.incr("k") == 2
    assert cache.get_many(["k", "missing"]) == {"k": 2}
    cache.delete("k")
    assert cache.get("k") is None


def test_threads_sharing_the_one_client_lose_no_increment():
    """A redis.Redis is shared by a worker's threads: each command takes its own connection."""
    cache = _cache("test-one-client-threads")
    cache.set("n", 0, timeout=30)

    def bump() -> None:
        for _ in range(50):
            cache.incr("n")

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("n") == 400
    cache.delete("n")
