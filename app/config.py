"""The one place that reads environment variables.

Everything configurable about MediaParser is a field of `Settings`; `Settings.from_env()`
reads the environment once, applies defaults, and validates. Tests build their own
`Settings` with overrides instead of patching the environment.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value MediaParser cannot use; the message says which and why."""


def _split_paths(value: str) -> tuple[Path, ...]:
    # os.pathsep (':' on Linux) like PATH; also accept commas, which people type.
    parts = [p.strip() for chunk in value.split(os.pathsep) for p in chunk.split(",")]
    return tuple(Path(p).expanduser().resolve() for p in parts if p)


def _lease_seconds(env: dict[str, str]) -> dict[str, float]:
    text = env.get("MEDIAPARSER_LEASE_SECONDS", "").strip()
    if not text:
        return {}
    try:
        return {"lease_seconds": float(text)}
    except ValueError:
        raise ConfigError(f"MEDIAPARSER_LEASE_SECONDS must be a number of seconds, not {text!r}") from None


def _megabytes(env: dict[str, str], name: str) -> int | None:
    text = env.get(name, "").strip()
    if text and not text.isdigit():
        raise ConfigError(f"{name} must be a whole number of megabytes, not {text!r}")
    return int(text) if text else None


def _system_timezone() -> str:
    tz = os.environ.get("TZ", "").strip()
    if tz and not tz.startswith(":"):
        return tz
    try:
        link = os.readlink("/etc/localtime")
        marker = "zoneinfo/"
        if marker in link:
            return link.split(marker, 1)[1]
    except OSError:
        pass
    return "UTC"


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    storage_dir: Path
    database_url: str
    queue_url: str
    timezone: str
    import_roots: tuple[Path, ...]
    output_dir: Path
    password: str | None
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = field(default_factory=lambda: max(1, os.cpu_count() or 1))
    # Pillow's decompression-bomb limit; 0 means Pillow's default (about 89 MP).
    max_image_pixels: int = 0
    # Memory ceiling of each import analysis process, in MB; 0: from the machine's available
    # memory and core count (media/batch.py plan). Fewer processes run when memory is short.
    worker_memory_mb: int = 0
    debug: bool = False
    # Web security (app/web/guards.py, app/web/outputs.py): host names the web answers to
    # (empty: localhost and the bound address), folders the web may export to, whether a
    # reverse proxy's X-Forwarded-* headers are believed, and the largest upload per file.
    allowed_hosts: tuple[str, ...] = ()
    output_roots: tuple[Path, ...] = ()
    trust_proxy: bool = False
    max_upload_bytes: int = 20 * 1000**3  # decimal, as size_text shows it
    # True: run.py also runs the background worker; False: pages only, worker.py runs it
    embedded_worker: bool = True
    # How long a worker's claim on a job or lock lasts without a heartbeat (seconds): a
    # worker that died holds its work this long before another takes it over.
    lease_seconds: float = 60.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def thumbnails_dir(self) -> Path:
        return self.storage_dir / "thumbnails"

    @property
    def originals_dir(self) -> Path:
        return self.storage_dir / "originals"

    @property
    def incoming_dir(self) -> Path:
        return self.storage_dir / "incoming"

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = env.get("MEDIAPARSER_DATA_DIR", "").strip()
        if data_dir:
            base = Path(data_dir).expanduser().resolve()
            instance_dir, storage_dir = base, base / "storage"
        else:
            instance_dir, storage_dir = REPO_ROOT / "instance", REPO_ROOT / "storage"
        instance_dir = Path(overrides.pop("instance_dir", instance_dir))
        storage_dir = Path(overrides.pop("storage_dir", storage_dir))

        timezone = env.get("MEDIAPARSER_TIMEZONE", "").strip() or _system_timezone()
        roots = _split_paths(env.get("MEDIAPARSER_IMPORT_ROOTS", ""))
        output = env.get("MEDIAPARSER_OUTPUT_DIR", "").strip()
        default_output = Path(data_dir).expanduser().resolve() / "output" if data_dir else REPO_ROOT / "output"
        output_dir = Path(output).expanduser().resolve() if output else default_output
        port_text = env.get("MEDIAPARSER_PORT", "5000").strip() or "5000"
        try:
            port = int(port_text)
        except ValueError:
            raise ConfigError(f"MEDIAPARSER_PORT must be a number, not {port_text!r}") from None
        workers_text = env.get("MEDIAPARSER_WORKERS", "").strip()
        upload_mb = _megabytes(env, "MEDIAPARSER_MAX_UPLOAD_MB")

        values = dict(
            instance_dir=instance_dir,
            storage_dir=storage_dir,
            database_url=env.get("DATABASE_URL", "").strip() or f"sqlite:///{instance_dir / 'mediaparser.db'}",
            queue_url=env.get("MEDIAPARSER_QUEUE", "").strip() or f"sqlite:///{instance_dir / 'queue.db'}",
            timezone=timezone,
            import_roots=roots,
            output_dir=output_dir,
            password=env.get("MEDIAPARSER_PASSWORD") or None,
            secret_key=env.get("SECRET_KEY", "").strip(),
            host=env.get("MEDIAPARSER_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=port,
            max_image_pixels=int(env.get("MEDIAPARSER_MAX_IMAGE_PIXELS", "0") or 0),
            worker_memory_mb=_megabytes(env, "MEDIAPARSER_WORKER_MEMORY_MB") or 0,
            debug=env.get("MEDIAPARSER_DEBUG", "") in ("1", "true", "yes"),
            allowed_hosts=tuple(
                h.strip().lower() for h in env.get("MEDIAPARSER_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            # default: the data folder's output/ and MEDIAPARSER_OUTPUT_DIR (the admin chose it)
            output_roots=_split_paths(env.get("MEDIAPARSER_OUTPUT_ROOTS", ""))
            or tuple(dict.fromkeys((default_output, output_dir))),
            trust_proxy=env.get("MEDIAPARSER_TRUST_PROXY", "") in ("1", "true", "yes"),
            embedded_worker=env.get("MEDIAPARSER_EMBEDDED_WORKER", "1").strip().lower() not in ("0", "false", "no"),
        )
        if upload_mb is not None:
            values["max_upload_bytes"] = upload_mb * 1000**2
        values.update(_lease_seconds(env))
        if workers_text:
            values["workers"] = max(1, int(workers_text))
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"MEDIAPARSER_TIMEZONE={self.timezone!r} is not an IANA time zone "
                "(examples: Europe/Berlin, America/New_York, UTC)"
            ) from None
        if not (0 < self.port < 65536):
            raise ConfigError(f"MEDIAPARSER_PORT={self.port} is outside 1..65535")
        if self.max_upload_bytes <= 0:
            raise ConfigError("MEDIAPARSER_MAX_UPLOAD_MB must be at least 1")
        if not (1 <= self.lease_seconds <= 3600):
            raise ConfigError(f"MEDIAPARSER_LEASE_SECONDS={self.lease_seconds:g} is outside 1..3600")


def ensure_secret_key(settings: Settings) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when two processes start together, one writes and both read the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
