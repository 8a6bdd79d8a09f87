"""Django's Redis cache, its ``redis.Redis`` client made once instead of once per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` on every cache call (on
the shared connection pool): ~0.1 ms of CPU each time (redis-py 8 sets up its response
callbacks per instance), and a login flow makes about sixteen calls (sessions, the library
system's bulkhead, the throttling counters of R-LOGIN-5): 14 of the PIN POST's 44 profiled
ms in the scaled set-up went to redis-py, most of it there (issue 14, item 4). A ``redis.Redis``
is safe to share between threads (each command takes a connection from the pool), so one per
pool is kept. Commands, keys, timeouts and the pool are Django's.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class OneClientPerPool(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django: Any = self  # RedisCacheClient's private helpers, untyped in django-stubs
        index = django._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = django._client(
                connection_pool=django._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    """``CACHES`` backend of the scaled set-up (REDIS_URL)."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = OneClientPerPool
