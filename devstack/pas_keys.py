"""The dev stack's Da Vinci PAS client key: made once in the data directory, never used outside
dev mode; the simulator verifies client assertions with its public half."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEV_PAS_CLIENT = "stepdown-dev"


def dev_pas_key(data_dir: Path) -> tuple[Path, Path]:
    """(private, public) PEM files of an ES384 (P-384) key under `data_dir/pas/`."""
    folder = data_dir.resolve() / "pas"
    private, public = folder / "dev-client-key.pem", folder / "dev-client-key.pub.pem"
    if not private.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP384R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        private.touch(mode=0o600)
        private.write_bytes(pem)
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return private, public


def simulator_clients_env(public: Path) -> str:
    """STEPDOWN_SIM_PAS_CLIENTS for the simulator: the dev client and its public key."""
    return json.dumps({DEV_PAS_CLIENT: f"file:{public}"})
