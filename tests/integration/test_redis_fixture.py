import redis


def test_throwaway_redis_is_private_and_empty(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.dbsize() == 0
    client.set("drsyncer:probe", "1")
    assert client.get("drsyncer:probe") == b"1"
    # not the machine's shared Redis on the standard port
    assert client.connection_pool.connection_kwargs["port"] != 6379
