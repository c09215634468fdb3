"""The `capitals` command: up, serve, migrate, token, sign-in-link and demo."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from capitals import backup as backups
from shared.settings import SERVICES, SettingError, Settings, load_settings


def _settings() -> Settings:
    from capitals.system import SECTIONS

    try:
        return load_settings(sections=SECTIONS)
    except SettingError as exc:
        print(f"capitals: bad setting {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(args: argparse.Namespace) -> None:
    import importlib

    import uvicorn

    from capitals.server import QuietServer, serve_workers
    from shared import logs
    from shared.settings import DEFAULT_PORTS

    settings = _settings()
    if not settings.nats_url:
        print(
            "capitals: bad setting NATS_URL: not set (`capitals up` starts its own broker)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    if args.workers < 1:
        print("capitals: --workers: at least 1", file=sys.stderr)
        raise SystemExit(2)
    logs.configure(args.service, settings.log_level)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port or DEFAULT_PORTS[args.service],
        # uvicorn's own lines (errors and the access log) go through the root logger's
        # JSON handler (shared.logs), which redacts the secrets links carry in paths.
        "log_config": None,
        "access_log": True,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the app decides
        # whom to believe (CAPITALS_TRUSTED_PROXIES).
        "proxy_headers": False,
    }
    if args.workers > 1:
        raise SystemExit(serve_workers(args.service, args.workers, **options))
    module = importlib.import_module(f"services.{args.service}.app")
    QuietServer(uvicorn.Config(module.app(settings), **options)).run()


def migrate(args: argparse.Namespace) -> None:
    from shared.migrations import upgrade

    settings = _settings()
    for service in [args.service] if args.service else SERVICES:
        upgrade(service, settings.database_url(service))
        print(f"{service}: database at head")


def _refuse_without_secret() -> None:
    """Stop, naming the data directory, where no secret is set or kept: a token or link
    signed with a fresh one would open nothing on services that run with theirs."""
    from capitals.sign_in_links import secret_missing

    data_dir = secret_missing()
    if data_dir is not None:
        print(
            f"capitals: no secret in {data_dir} (start `capitals up` there once, "
            "or set CAPITALS_DATA_DIR or CAPITALS_SECRET)",
            file=sys.stderr,
        )
        raise SystemExit(2)


def token(args: argparse.Namespace) -> None:
    from shared.auth import issue_token

    _refuse_without_secret()
    settings = _settings()
    try:
        minted = issue_token(
            settings.secret,
            role=args.role,
            countries=args.country,
            subject=args.subject,
            lifetime=timedelta(days=args.days) if args.days else timedelta(hours=12),
        )
    except ValueError as exc:
        print(f"capitals: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    scope = "all countries" if args.role == "secretariat" else ", ".join(sorted(args.country))
    print(f"# {args.role} token for {scope}; send it as 'Authorization: Bearer <token>'")
    print(minted)


def sign_in_link(args: argparse.Namespace) -> None:
    from capitals.sign_in_links import issue
    from services.scheduling.sign_in import Enrolment
    from shared.errors import DomainError

    _refuse_without_secret()
    settings = _settings()
    wanted = Enrolment(email=args.email, role=args.role, name=args.name, countries=args.country)
    try:
        link = issue(settings, wanted)
    except DomainError as refusal:
        print(f"capitals: {refusal.message}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"# single-use sign-in link for {args.email.strip().lower()} ({args.role}), 15 minutes")
    print(link)


def up(args: argparse.Namespace) -> None:
    from capitals.embedded import run
    from shared import logs

    settings = _settings()
    # Its own lines (migrations) as JSON too; the services' lines are copied to stderr.
    logs.configure("capitals", settings.log_level)
    raise SystemExit(run(settings))


def demo(args: argparse.Namespace) -> None:
    from capitals.demo import load

    raise SystemExit(load(_settings()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="capitals", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("up", help="start the embedded system: broker and the three services")
    p.set_defaults(run=up)

    p = commands.add_parser("serve", help="run one service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes behind the one port, each running the whole service",
    )
    p.set_defaults(run=serve)

    p = commands.add_parser("migrate", help="apply database migrations")
    p.add_argument("service", nargs="?", choices=SERVICES)
    p.set_defaults(run=migrate)

    p = commands.add_parser("token", help="print a staff token")
    p.add_argument("--role", required=True, choices=("secretariat", "organiser"))
    p.add_argument("--country", action="append", default=[], metavar="CODE")
    p.add_argument("--days", type=float, default=None, help="lifetime in days (default 12 hours)")
    p.add_argument("--subject", default=None, help="who the token is for (default: generated)")
    p.set_defaults(run=token)

    p = commands.add_parser("sign-in-link", help="enrol a staff member; print a sign-in link")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=("secretariat", "organiser"))
    p.add_argument("--country", action="append", default=[], metavar="CODE")
    p.add_argument("--name", default="")
    p.set_defaults(run=sign_in_link)

    p = commands.add_parser("demo", help="fill a running system with the seed series")
    p.set_defaults(run=demo)

    p = commands.add_parser("backup", help="copy the running embedded system's data into DIR")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(run=backups.backup_command)

    p = commands.add_parser("restore", help="put a backup into an empty data directory")
    p.add_argument("dir", metavar="DIR")
    p.set_defaults(run=backups.restore_command)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
