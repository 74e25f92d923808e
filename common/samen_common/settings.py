"""Settings read from the environment, failing fast with a clear message."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(RuntimeError):
    """A required setting is missing or invalid."""


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise SettingsError(f"environment variable {name} is required but not set")
    return value


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"environment variable {name} must be a number, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"environment variable {name} must be true or false, got {raw!r}")


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class CommonSettings:
    """Settings that every process of the platform reads."""

    environment: str
    amqp_uri: str
    rpc_timeout: float
    jwt_issuer: str
    jwt_audience: str
    jwt_public_key_file: Path
    data_dir: Path

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")


def common_settings() -> CommonSettings:
    environment = env_str("SAMEN_ENV", "development")
    if environment not in ("development", "test", "production"):
        raise SettingsError(
            f"SAMEN_ENV must be development, test or production, got {environment!r}"
        )
    data_dir = Path(env_str("SAMEN_DATA_DIR", str(project_root() / "var")))
    return CommonSettings(
        environment=environment,
        amqp_uri=env_str("SAMEN_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
        rpc_timeout=env_float("SAMEN_RPC_TIMEOUT", 5.0),
        jwt_issuer=env_str("SAMEN_JWT_ISSUER", "samen-accounts"),
        jwt_audience=env_str("SAMEN_JWT_AUDIENCE", "samen-api"),
        jwt_public_key_file=Path(
            env_str("SAMEN_JWT_PUBLIC_KEY_FILE", str(data_dir / "keys" / "jwt-public.pem"))
        ),
        data_dir=data_dir,
    )


def database_url(service: str) -> str:
    """Return the SQLAlchemy URL of one service's own database.

    `SAMEN_<SERVICE>_DATABASE_URL` wins; otherwise the database `samen_<service>` (with the
    `SAMEN_DATABASE_PREFIX`, default `samen_`) on `SAMEN_POSTGRES_URL`.
    """
    explicit = os.environ.get(f"SAMEN_{service.upper()}_DATABASE_URL")
    if explicit:
        return explicit
    server = env_str("SAMEN_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
    prefix = env_str("SAMEN_DATABASE_PREFIX", "samen_")
    return f"{server.rstrip('/')}/{prefix}{service}"
