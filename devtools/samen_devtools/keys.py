"""Create the Ed25519 key pair that signs access tokens, when it does not exist yet.

`python -m samen_devtools.keys [DIR]` writes `jwt-private.pem` (mode 0600) and `jwt-public.pem`
into DIR (default `$SAMEN_DATA_DIR/keys`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def ensure_keys(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / "jwt-private.pem"
    public_path = directory / "jwt-public.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path


def main() -> None:
    if len(sys.argv) > 1:
        directory = Path(sys.argv[1])
    else:
        directory = Path(os.environ.get("SAMEN_DATA_DIR", "var")) / "keys"
    private_path, public_path = ensure_keys(directory)
    print(f"keys ready: {private_path} {public_path}")


if __name__ == "__main__":
    main()
