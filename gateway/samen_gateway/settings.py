"""Gateway settings, read once per process from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from samen_common.settings import CommonSettings, common_settings, env_float, env_int, env_list, env_str


@dataclass(frozen=True)
class GatewaySettings:
    common: CommonSettings
    rpc_pool_size: int
    rpc_timeout: float
    max_body_bytes: int
    cors_origins: list[str]
    public_url: str
    trusted_proxies: int
    secret_key: str


def gateway_settings() -> GatewaySettings:
    common = common_settings()
    secret_key = env_str("SAMEN_SECRET_KEY", "development-only-secret" if common.is_development else None)
    return GatewaySettings(
        common=common,
        rpc_pool_size=env_int("SAMEN_RPC_POOL_SIZE", 16),
        rpc_timeout=env_float("SAMEN_GATEWAY_RPC_TIMEOUT", common.rpc_timeout),
        max_body_bytes=env_int("SAMEN_MAX_BODY_BYTES", 25 * 1024 * 1024),
        cors_origins=env_list("SAMEN_CORS_ORIGINS"),
        public_url=env_str("SAMEN_PUBLIC_URL", "http://127.0.0.1:8080"),
        trusted_proxies=env_int("SAMEN_TRUSTED_PROXIES", 0),
        secret_key=secret_key,
    )
