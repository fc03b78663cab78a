"""`sentinel://` URLs: parsed, refused with a reason, and turned into Celery, kombu and redbeat settings."""

from __future__ import annotations

import ssl

import pytest

from drsyncer.config import ConfigError, load_settings, redact_url
from drsyncer.redis_target import celery_settings, parse_sentinel_url

URL = "sentinel://:data-pw@10.0.0.1:26379,10.0.0.2:26380,s3/2?master=drsyncer&sentinel_password=sent-pw"


def test_sentinel_url_names_sentinels_primary_database_and_both_passwords() -> None:
    target = parse_sentinel_url(URL)
    assert target.sentinels == (("10.0.0.1", 26379), ("10.0.0.2", 26380), ("s3", 26379))
    assert (target.master, target.db, target.password, target.sentinel_password) == (
        "drsyncer",
        2,
        "data-pw",
        "sent-pw",
    )
    assert not target.tls


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sentinel://h:26379/0", "?master=NAME"),
        ("sentinel:///0?master=m", "at least one sentinel"),
        ("sentinel://h:port/0?master=m", "HOST:PORT"),
        ("sentinel://h:1/zero?master=m", "database"),
        ("sentinel://h:1/0?master=m&tls=true&ssl_cert_reqs=maybe", "ssl_cert_reqs"),
    ],
)
def test_bad_sentinel_url_is_refused_with_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        parse_sentinel_url(url)


def test_bad_sentinel_url_in_settings_names_the_variable_and_hides_the_password() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"DRSYNCER_REDIS_URL": "sentinel://:hunter2@h:1/0"}, None)
    assert "DRSYNCER_REDIS_URL" in str(err.value) and "hunter2" not in str(err.value)
    assert "sent-pw" not in redact_url(URL) and "data-pw" not in redact_url(URL)


def test_celery_broker_backend_and_redbeat_all_follow_the_same_primary() -> None:
    conf = celery_settings(URL)
    assert (
        conf["broker_url"]
        == conf["result_backend"]
        == (
            "sentinel://:data-pw@10.0.0.1:26379/2;sentinel://:data-pw@10.0.0.2:26380/2;sentinel://:data-pw@s3:26379/2"
        )
    )
    assert conf["sentinel_transport_options"] == {
        "master_name": "drsyncer",
        "sentinel_kwargs": {"password": "sent-pw"},
    }
    assert conf["redbeat_redis_url"].startswith("redis-sentinel")
    assert conf["redbeat_redis_options"] == {
        "sentinels": [["10.0.0.1", 26379], ["10.0.0.2", 26380], ["s3", 26379]],
        "service_name": "drsyncer",
        "db": 2,
        "password": "data-pw",
        "sentinel_kwargs": {"password": "sent-pw"},
    }


def test_tls_sentinel_url_asks_every_library_for_verified_tls() -> None:
    conf = celery_settings("sentinel://h:1/0?master=m&tls=true&ssl_ca_certs=/etc/ca.pem")
    expected = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/etc/ca.pem"}
    for key in ("broker_use_ssl", "redis_backend_use_ssl", "redbeat_redis_use_ssl"):
        assert conf[key] == expected
    assert conf["sentinel_transport_options"]["sentinel_kwargs"] == {
        "ssl": True,
        "ssl_cert_reqs": "required",
        "ssl_ca_certs": "/etc/ca.pem",
    }


def test_plain_redis_url_is_used_as_it_is() -> None:
    conf = celery_settings("redis://:pw@r:6379/1")
    assert conf["broker_url"] == conf["result_backend"] == conf["redbeat_redis_url"] == "redis://:pw@r:6379/1"
    assert conf["sentinel_transport_options"] == {}
