"""Signing keys for the PAS tests, made with `cryptography`, written as PEM files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@dataclass(frozen=True)
class KeyPair:
    private_ref: str  # file:/… as the payer directory names it
    public_pem: str


def key_pair(directory: Path, algorithm: str = "ES384", name: str = "pas") -> KeyPair:
    if algorithm == "RS384":
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = rsa.generate_private_key(65537, 2048)
    else:
        key = ec.generate_private_key(ec.SECP384R1())
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = directory / f"{name}-{algorithm}.pem"
    path.write_bytes(private)
    return KeyPair(f"file:{path}", public.decode())
