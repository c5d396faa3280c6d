"""The service's settings, read from the environment in this one place.

Every field ``x`` is read from ``DISPATCH_X`` (``DISPATCH_PORT=9000``). The database URL is
also read from the conventional ``DATABASE_URL`` when ``DISPATCH_DATABASE_URL`` is not set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from dispatch.travel_tables import DEFAULT_CACHE_DIR

__all__ = ["ENV_PREFIX", "BatchEngine", "LogFormat", "LogLevel", "Settings", "SettingsError"]

ENV_PREFIX = "DISPATCH_"
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]
LogFormat = Literal["text", "json"]
BatchEngine = Literal["local", "ray"]
# Variables read without the prefix as well, for platforms that set them (field -> name).
_UNPREFIXED = {"database_url": "DATABASE_URL"}


def _name(names: Mapping[str, str], loc: tuple[int | str, ...]) -> str:
    """The variable behind an error's location (a check across fields has none)."""
    if not loc:
        return "settings"
    return names.get(str(loc[0]), ENV_PREFIX + str(loc[0]).upper())


class SettingsError(ValueError):
    """An environment variable holds a value the settings cannot use; the message names it."""


class Settings(BaseModel):
    """Service configuration; build it with :meth:`from_env` or directly in tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(
        default="sqlite:///./var/dispatch.sqlite3",
        description="SQLAlchemy-style database URL (DATABASE_URL or DISPATCH_DATABASE_URL).",
    )
    demo_scenario: str = Field(
        default="data/demo/district.json",
        description="Scenario file served as the demo, relative to the working directory.",
    )
    host: str = Field(default="127.0.0.1", description="Interface to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")
    log_level: LogLevel = Field(default="info", description="uvicorn/logging level name.")
    log_format: LogFormat = Field(
        default="text",
        description="``text`` (plain lines) or ``json``: one JSON object per line for the "
        "api, dispatch, solver and uvicorn loggers, with time, level, logger, message, the "
        "request id and the fields of the record; phone and ID numbers masked.",
    )
    metrics_public: bool = Field(
        default=False,
        description="``GET /metrics`` answers without a token (for a Prometheus scraper "
        "without one, on a network that only it reaches); when false it needs an admin token.",
    )
    admin_token: str | None = Field(
        default=None,
        min_length=16,
        description="Bootstrap admin bearer token (DISPATCH_ADMIN_TOKEN); when unset and the "
        "database has no admin token, one is generated and printed once at start.",
    )
    geofence_m: float = Field(
        default=200.0, gt=0, description="Check-in/out farther than this from the home is flagged."
    )
    min_visit_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A visit shorter than this share of its planned minutes is flagged.",
    )
    clock_skew_minutes: float = Field(
        default=5.0,
        gt=0,
        description="A check-in/out whose phone time differs from the server's by more than "
        "this many minutes is flagged clock_skew.",
    )
    late_minutes: int = Field(
        default=15,
        ge=0,
        le=240,
        description="A visit without a check-in this many minutes after its planned start is late.",
    )
    check_out_margin_minutes: int = Field(
        default=30,
        ge=0,
        le=720,
        description="A checked-in visit this many minutes past its planned end without a "
        "check-out is flagged missing_check_out; a check-out recorded later is back_filled.",
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="Local time zone of visits and check-in times."
    )
    job_stale_seconds: float = Field(
        default=20.0,
        gt=0,
        description="A queued or running job that no runner of this process owns and whose "
        "worker has not reported for this many seconds is marked failed (its process is gone): "
        "at start and at every heartbeat while the server runs. More than "
        "job_heartbeat_seconds: two periods by default.",
    )
    job_heartbeat_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds between two heartbeats of the job runner: it stamps its own jobs "
        "alive and marks orphaned ones failed.",
    )
    worker_threads: int = Field(
        default=8,
        ge=1,
        le=512,
        description="Requests handled at once (the thread pool of synchronous handlers); the "
        "database pool holds as many connections, so further requests wait instead of failing. "
        "The handlers are mostly CPU-bound Python: a few threads per core answer faster than many.",
    )
    pool_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a request waits for a database connection before it fails.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30000,
        ge=0,
        description="Milliseconds a SQLite writer waits for another one's lock before failing.",
    )
    data_key: str | None = Field(
        default=None,
        description="Fernet key (urlsafe base64 of 32 bytes) that encrypts elders' phone and ID "
        "numbers at rest (DISPATCH_DATA_KEY). When unset, a key is generated once and kept in "
        "a file beside the SQLite database (``<database>.key``; ``var/data.key`` for other "
        "databases); keep that file with the database and out of backups shared with others.",
    )
    batch_engine: BatchEngine = Field(
        default="local",
        description="Where a batch's variants are solved in parallel: ``local`` (a pool of "
        "batch_workers processes on this machine) or ``ray`` (a Ray cluster: a local one "
        "started with ray.init(), or the one at ray_address; needs the ray extra).",
    )
    batch_workers: int = Field(
        default=2,
        ge=1,
        le=256,
        description="Variants of a batch solved at once (processes of the local pool, CPUs of "
        "a local Ray cluster).",
    )
    ray_address: str | None = Field(
        default=None,
        min_length=1,
        description="Address of a Ray cluster to join (``ray://host:10001`` or ``auto``) with "
        "batch_engine ray; unset starts a local cluster.",
    )
    load_demo: bool = Field(
        default=True, description="Import ``demo_scenario`` at start when the database is empty."
    )
    geocoder: str | None = Field(
        default=None,
        description="Service that geocodes the sheet rows with an address and no lat/lon: "
        "``baidu`` (百度地图 v3; needs geocoder_key), ``nominatim`` (OpenStreetMap; one request "
        "a second), ``amap`` (高德; needs geocoder_key) or ``file:PATH`` (a JSON file mapping "
        "address to {lat, lon, coord_system?, confidence?, level?, candidates?}, for offline "
        "demos and tests). Unset: no geocoding; such rows are errors. See docs/geocoding.md.",
    )
    geocoder_key: SecretStr | None = Field(
        default=None,
        min_length=1,
        description="API key of the geocoder (DISPATCH_GEOCODER_KEY): Baidu's AK or Amap's web "
        "service key. A secret: never echoed.",
    )
    geocode_cache: str = Field(
        default="var/geocode-cache.sqlite3",
        min_length=1,
        description="SQLite file that keeps the geocoder's answers (found, flagged, not found) "
        "by normalised address, so that an address is sent to the service only once.",
    )
    travel_cache: str = Field(
        default=DEFAULT_CACHE_DIR,
        min_length=1,
        description="Folder where road travel-time matrices are cached by content.",
    )

    @model_validator(mode="after")
    def _stale_after_beats(self) -> Settings:
        if self.ray_address is not None and self.batch_engine != "ray":
            raise ValueError("DISPATCH_RAY_ADDRESS needs DISPATCH_BATCH_ENGINE=ray")
        if self.job_stale_seconds <= self.job_heartbeat_seconds:
            raise ValueError(
                "DISPATCH_JOB_STALE_SECONDS must exceed DISPATCH_JOB_HEARTBEAT_SECONDS "
                "(a live job would be marked failed)"
            )
        return self

    @model_validator(mode="after")
    def _geocoder_has_key(self) -> Settings:
        if self.geocoder in ("baidu", "amap") and self.geocoder_key is None:
            raise ValueError(f"DISPATCH_GEOCODER={self.geocoder} needs DISPATCH_GEOCODER_KEY")
        return self

    @field_validator("geocoder")
    @classmethod
    def _known_geocoder(cls, value: str | None) -> str | None:
        """``baidu``, ``nominatim``, ``amap`` (any case) or ``file:PATH``; blank or ``none``
        is no geocoder."""
        text = (value or "").strip()
        if text.lower() in ("", "none"):
            return None
        if text.lower().startswith("file:"):
            if not text[len("file:") :].strip():
                raise ValueError("file: needs a path (file:answers.json)")
            return "file:" + text[len("file:") :]
        if text.lower() not in ("baidu", "nominatim", "amap"):
            raise ValueError("expected baidu, nominatim, amap or file:PATH")
        return text.lower()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The local time zone as a ``ZoneInfo``."""
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); unset variables keep defaults.

        Raises :class:`SettingsError` naming the variable when a value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        names: dict[str, str] = {}
        for field in cls.model_fields:
            for name in (ENV_PREFIX + field.upper(), _UNPREFIXED.get(field)):
                if name is not None and name in env:
                    raw = env[name].strip()
                    lowered = field in ("log_level", "log_format", "batch_engine")
                    values[field] = raw.lower() if lowered else raw
                    names[field] = name
                    break
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            # Never echo a rejected value: the admin token is a secret.
            problems = "; ".join(
                f"{_name(names, err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise SettingsError(f"invalid settings in the environment: {problems}") from None
