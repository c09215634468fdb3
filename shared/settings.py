"""Settings read from environment variables, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar
from urllib.parse import urlsplit

SERVICES = ("registration", "scheduling", "evaluation")
DEFAULT_PORTS = {"registration": 8001, "scheduling": 8002, "evaluation": 8003}

_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Networks:
    """A set of addresses and networks (`address in networks`), such as the trusted proxies.

    A plain class rather than a tuple of networks: Litestar hands the settings to routes
    through msgspec, which passes one custom type through but refuses a union of two."""

    def __init__(self, networks: tuple[Network, ...] = ()) -> None:
        self.networks = networks

    def __contains__(self, address: object) -> bool:
        return any(address in network for network in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Networks) and other.networks == self.networks

    def __hash__(self) -> int:
        return hash(self.networks)

    def __repr__(self) -> str:
        return f"Networks({', '.join(str(n) for n in self.networks)})"


class SettingError(ValueError):
    """A bad or missing setting; its message is the one line shown at start-up."""


def parse_duration(name: str, text: str) -> timedelta:
    """Parse an ISO 8601 duration such as `P5Y`, `P30D` or `PT12H`. Years and months vary in
    length; a retention period needs no calendar, so a year counts 365 days and a month 30."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise SettingError(f"{name}: {text!r} is not an ISO 8601 duration such as P30D or PT12H")
    parts = {key: int(value) for key, value in match.groupdict().items() if value}
    days = parts.pop("years", 0) * 365 + parts.pop("months", 0) * 30 + parts.pop("days", 0)
    return timedelta(days=days, **parts)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    nats_url: str | None
    database_urls: Mapping[str, str]
    secret: str
    public_urls: Mapping[str, str]
    smtp_url: str | None
    mail_from: str
    rate_limit: int
    log_level: str = "INFO"
    # Replicas of each stream and key-value bucket; None: new ones get 1, existing ones keep
    # theirs (shared.bus.ensure_streams).
    nats_replicas: int | None = None
    # Peers whose X-Forwarded-For and X-Forwarded-Proto are believed (a reverse proxy).
    trusted_proxies: Networks = field(default_factory=Networks)
    # OTLP collector (OTEL_EXPORTER_OTLP_ENDPOINT); None: no tracing (shared.tracing).
    otel_endpoint: str | None = None
    # Languages offered to participants (CAPITALS_LANGUAGES), English first by default.
    languages: tuple[str, ...] = ("en", "de", "pl", "ru")
    extra: Mapping[str, str] = field(default_factory=dict)
    # The variables the settings were read from, for sections asked for later (`section`).
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    # Each service's own settings, by section class name: validated by `load_settings`
    # when named there, otherwise read from `env` on first use.
    sections: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def public_url(self, service: str) -> str:
        return self.public_urls[service]

    def link(self, service: str, path: str) -> str:
        """A link to `path` (it begins with "/") on a service's public site: every service
        builds its links and the others' by this one rule."""
        return self.public_urls[service].rstrip("/") + path

    def prefix(self, service: str) -> str:
        """The path of the service's public URL ("" or "/registration"), under which it
        serves every route and which every link it renders carries."""
        return urlsplit(self.public_urls[service]).path.rstrip("/")

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def section(self, cls: type[S]) -> S:
        """A service's own settings, e.g. `settings.section(EvaluationSettings)`."""
        key = _key(cls)
        if key not in self.sections:
            self.sections[key] = cls.load(self.env)
        found: S = self.sections[key]
        return found


class Section(Protocol):
    """A service's own settings: the variables it reads, and how it reads them."""

    NAMES: ClassVar[tuple[str, ...]]

    @classmethod
    def load(cls, env: Mapping[str, str]) -> Self:
        """Read and check the section's variables; raise SettingError naming a bad one."""
        ...


S = TypeVar("S", bound=Section)


def _key(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# Every setting read here; with each section's NAMES (capitals.system.SETTING_NAMES) they
# are all the settings there are, and compose.yaml is checked against that list.
SETTING_NAMES = (
    "CAPITALS_DATA_DIR",
    "NATS_URL",
    "NATS_REPLICAS",
    "REGISTRATION_DATABASE_URL",
    "SCHEDULING_DATABASE_URL",
    "EVALUATION_DATABASE_URL",
    "CAPITALS_SECRET",
    "REGISTRATION_PUBLIC_URL",
    "SCHEDULING_PUBLIC_URL",
    "EVALUATION_PUBLIC_URL",
    "SMTP_URL",
    "MAIL_FROM",
    "CAPITALS_RATE_LIMIT",
    "CAPITALS_LOG_LEVEL",
    "CAPITALS_TRUSTED_PROXIES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "CAPITALS_LANGUAGES",
)


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        raise SettingError(f"{name}: {value!r} must start with one of {allowed}")
    if not parts.netloc and not parts.path.strip("/"):
        raise SettingError(f"{name}: {value!r} names no host or file")
    return value


def duration(env: Mapping[str, str], name: str, default: str) -> timedelta:
    """The ISO 8601 duration in `name` (`default` if unset); SettingError naming it."""
    return parse_duration(name, env.get(name, default))


def count(env: Mapping[str, str], name: str, default: str) -> int:
    """The whole number, not negative, in `name` (`default` if unset); SettingError naming it."""
    return _count(name, env.get(name, default))


def _count(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingError(f"{name}: {value!r} is not a whole number") from None
    if number < 0:
        raise SettingError(f"{name}: {value!r} must not be negative")
    return number


def nats_seeds(url: str) -> list[str]:
    """The servers a comma-separated NATS_URL lists; the client needs them as a list."""
    return [seed.strip() for seed in url.split(",") if seed.strip()]


MAX_REPLICAS = 5  # JetStream's own limit for a stream's replicas


def _replicas(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise SettingError(f"NATS_REPLICAS: {value!r} is not a whole number") from None
    if not 1 <= number <= MAX_REPLICAS:
        raise SettingError(f"NATS_REPLICAS: {value!r} must be from 1 to {MAX_REPLICAS}")
    return number


def _networks(name: str, value: str) -> Networks:
    """Comma-separated addresses (`10.0.0.5`) or networks (`10.0.0.0/24`, `fd00::/8`)."""
    networks = []
    for item in value.split(","):
        if not item.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            raise SettingError(
                f"{name}: {item.strip()!r} is not an IP address or network such as 10.0.0.0/24"
            ) from None
    return Networks(tuple(networks))


def _secret(data_dir: Path, env: Mapping[str, str]) -> str:
    given = env.get("CAPITALS_SECRET")
    if given is not None:
        if len(given) < 16:
            raise SettingError("CAPITALS_SECRET: must be at least 16 characters long")
        return given
    path = data_dir / "secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Create with 0600 so the signing key is not readable by other users.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_settings(
    env: Mapping[str, str] | None = None, sections: Sequence[type[Section]] = ()
) -> Settings:
    """Read and validate the common settings and those of `sections`; raise SettingError
    naming the first bad one."""
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("CAPITALS_DATA_DIR", "./capitals-data")).expanduser().absolute()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(f"CAPITALS_DATA_DIR: cannot create {data_dir}: {exc.strerror}") from None

    nats_url = env.get("NATS_URL") or None
    if nats_url:
        seeds = nats_seeds(nats_url)
        if not seeds:
            raise SettingError(f"NATS_URL: {nats_url!r} names no server")
        for seed in seeds:
            _check_url("NATS_URL", seed, ("nats", "tls", "ws", "wss"))
        if len({urlsplit(seed).scheme in ("ws", "wss") for seed in seeds}) > 1:
            raise SettingError(f"NATS_URL: {nats_url!r} mixes websocket and other servers")

    database_urls: dict[str, str] = {}
    public_urls: dict[str, str] = {}
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        url = env.get(key) or f"sqlite+aiosqlite:///{data_dir / service}.sqlite3"
        database_urls[service] = _check_url(key, url, ("sqlite+aiosqlite", "postgresql+asyncpg"))
        key = f"{service.upper()}_PUBLIC_URL"
        url = env.get(key) or f"http://127.0.0.1:{DEFAULT_PORTS[service]}"
        public_urls[service] = _check_url(key, url, ("http", "https")).rstrip("/")
        parts = urlsplit(url)
        if not parts.hostname or parts.query or parts.fragment:
            raise SettingError(f"{key}: {url!r} must be a host, then at most a port and a path")

    smtp_url = env.get("SMTP_URL") or None
    if smtp_url:
        _check_url("SMTP_URL", smtp_url, ("smtp", "smtp+starttls", "smtps"))
        if not urlsplit(smtp_url).hostname:
            raise SettingError(f"SMTP_URL: {smtp_url!r} names no host")

    mail_from = env.get("MAIL_FROM", "Capitals <noreply@localhost>")
    if not _one_sender(mail_from):
        raise SettingError(f"MAIL_FROM: {mail_from!r} is not one e-mail address")

    otel_endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None
    if otel_endpoint:
        _check_url("OTEL_EXPORTER_OTLP_ENDPOINT", otel_endpoint, ("http", "https"))

    log_level = env.get("CAPITALS_LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingError(
            f"CAPITALS_LOG_LEVEL: {log_level!r} is not DEBUG, INFO, WARNING or ERROR"
        )

    return Settings(
        data_dir=data_dir,
        nats_url=nats_url,
        database_urls=database_urls,
        secret=_secret(data_dir, env),
        public_urls=public_urls,
        smtp_url=smtp_url,
        mail_from=mail_from,
        rate_limit=count(env, "CAPITALS_RATE_LIMIT", "30"),
        log_level=log_level,
        nats_replicas=_replicas(env.get("NATS_REPLICAS") or None),
        trusted_proxies=_networks(
            "CAPITALS_TRUSTED_PROXIES", env.get("CAPITALS_TRUSTED_PROXIES", "")
        ),
        otel_endpoint=otel_endpoint,
        languages=_languages(env.get("CAPITALS_LANGUAGES", "en,de,pl,ru")),
        env=env,
        sections={_key(section): section.load(env) for section in sections},
    )


def _languages(value: str) -> tuple[str, ...]:
    """Language codes as `shared/locale` names them (two or three letters); English is the
    source language and always offered."""
    codes = tuple(dict.fromkeys(code.strip().lower() for code in value.split(",") if code.strip()))
    for code in codes:
        if not re.fullmatch(r"[a-z]{2,3}", code):
            raise SettingError(f"CAPITALS_LANGUAGES: {code!r} is not a language code such as de")
    if "en" not in codes:
        raise SettingError(f"CAPITALS_LANGUAGES: {value!r} must include en")
    return codes


def _one_sender(value: str) -> bool:
    """One address, with or without a display name, that fits a From header as it is: a
    bad sender would make every mail fail to build."""
    from email.errors import HeaderParseError
    from email.headerregistry import HeaderRegistry

    from shared.inputs import is_line

    if not is_line(value) or "@" not in value:
        return False
    try:
        header = HeaderRegistry()("From", value)
    except (HeaderParseError, ValueError, IndexError):
        return False
    addresses: tuple[Any, ...] = getattr(header, "addresses", ())
    return len(addresses) == 1 and not header.defects and "@" in addresses[0].addr_spec
