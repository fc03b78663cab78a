"""Client-certificate kubeconfigs: the key pair reaches TLS, and its files do not outlive the client."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from drsyncer.errors import Category
from drsyncer.kube import ApiError, client_from_kubeconfig
from drsyncer.sim import SimCluster


def _client_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drsyncer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_a_client_certificate_kubeconfig_connects_and_cleans_up_its_key_files() -> None:
    cert, key = _client_pair()
    with SimCluster("dr1", tls=True) as sim:
        config = sim.kubeconfig_dict()
        config["users"][0]["user"] = {
            "client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(key).decode(),
        }
        client = client_from_kubeconfig(config)
        key_file = Path(client.api_client.configuration.key_file)
        # the TLS layer loads the pair on connect: a bad pair would fail here
        assert client.server_version()
        client.close()
        assert not key_file.exists() and not key_file.parent.exists()


def test_a_certificate_that_does_not_match_its_key_is_a_tls_error() -> None:
    cert, _ = _client_pair()
    _, other_key = _client_pair()
    with SimCluster("dr1", tls=True) as sim:
        config = sim.kubeconfig_dict()
        config["users"][0]["user"] = {
            "client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(other_key).decode(),
        }
        with client_from_kubeconfig(config) as client, pytest.raises(ApiError) as raised:
            client.server_version()
    assert (raised.value.reason, raised.value.category) == ("TLSError", Category.NON_RETRYABLE)
    assert "client certificate" in str(raised.value)
    assert "BEGIN" not in str(raised.value)
