"""``hinge serve`` and ``hinge users``: the service's commands, plugged into analyzer/cli.py.

Only argparse here at import time; FastAPI, SQLAlchemy and uvicorn load when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError

SERVICE_COMMANDS = ("serve", "users")
_EXTRA_HINT = "the service needs its extra: pip install 'hinge-analyzer[service]'"


class ServiceUnavailableError(AnalyzerError):
    """The service's optional dependencies are not installed."""

    exit_code = 2


def _defaults() -> dict[str, Any]:
    """Settings defaults for the help text, without importing pydantic-settings when it is missing."""
    try:
        from api.settings import Settings
    except ImportError:
        return {}
    return {name: f.default for name, f in Settings.model_fields.items()}


def add_service_commands(commands: Any) -> None:
    """Add ``serve`` and ``users`` to the ``hinge`` sub-command parser."""
    defaults = _defaults()
    serve = commands.add_parser(
        "serve", help="run the web service (upload API, job queue, web page)",
        description="Start the HTTP service with uvicorn. Settings also come from HINGE_* environment variables "
                    "(HINGE_DATA_DIR, HINGE_DATABASE_URL, HINGE_WORKERS, HINGE_DASK_SCHEDULER, HINGE_MAX_UPLOAD_MB); "
                    "flags override them.",
    )
    serve.add_argument("--host", default=None, help=f"address to listen on (default: {defaults.get('host')})")
    serve.add_argument("--port", type=int, default=None, help=f"port (default: {defaults.get('port')})")
    serve.add_argument("--workers", type=int, default=None,
                       help=f"clips analysed at once (default: {defaults.get('workers')})")
    serve.add_argument("--data-dir", type=Path, default=None,
                       help=f"uploads, outputs and the SQLite database (default: {defaults.get('data_dir')})")

    users = commands.add_parser(
        "users", help="manage accounts: add athletes and coaches, link them, list them",
        description="Accounts of the web service, stored in its database (HINGE_DATA_DIR / HINGE_DATABASE_URL).",
    )
    users.add_argument("--data-dir", type=Path, default=None, help="the service's data folder")
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their token (shown once)")
    add.add_argument("name", help="unique user name")
    add.add_argument("--role", choices=("athlete", "coach"), required=True, help="what the user may do")
    link = actions.add_parser("link", help="let a coach see and review an athlete's analyses")
    link.add_argument("coach", help="the coach's name")
    link.add_argument("athlete", help="the athlete's name")
    actions.add_parser("list", help="list users, their roles and links")


def _settings(args: argparse.Namespace, **keys: str) -> Any:
    try:
        from api.settings import Settings
    except ImportError as exc:
        raise ServiceUnavailableError(f"{_EXTRA_HINT} ({exc.name} is missing)") from exc
    overrides = {field: getattr(args, attr) for field, attr in keys.items() if getattr(args, attr, None) is not None}
    try:
        return Settings(**overrides)
    except ValueError as exc:  # pydantic's ValidationError
        first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": ("setting",), "msg": str(exc)}
        where = ".".join(str(p) for p in first["loc"])
        raise ServiceUnavailableError(f"invalid setting {where}: {first['msg']}") from exc


def run_service_command(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    return _users(args)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args, host="host", port="port", workers="workers", data_dir="data_dir")
    try:
        import uvicorn

        from api.app import create_app
    except ImportError as exc:
        raise ServiceUnavailableError(f"{_EXTRA_HINT} ({exc.name} is missing)") from exc
    app = create_app(settings)
    where = settings.dask_scheduler or f"{settings.workers} worker process(es)"
    print(f"hinge: serving on http://{settings.host}:{settings.port} (data in {settings.data_dir}; jobs on {where})",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


def _users(args: argparse.Namespace) -> int:
    settings = _settings(args, data_dir="data_dir")
    from api import accounts
    from api.db import get_sessionmaker

    settings.make_dirs()
    with get_sessionmaker(settings.db_url)() as session:
        if args.users_command == "add":
            made = accounts.add_user(session, args.name, args.role)
            print(f"added {made.role} {made.name} (id {made.user_id}); token (shown only now, keep it safe):")
            print(made.token)
        elif args.users_command == "link":
            if accounts.link(session, args.coach, args.athlete):
                print(f"linked coach {args.coach} to athlete {args.athlete}")
            else:
                print(f"coach {args.coach} was already linked to athlete {args.athlete}")
        else:
            rows = accounts.list_users(session)
            if not rows:
                print("no users yet; add one with: hinge users add NAME --role athlete|coach")
            for user, linked in rows:
                label = "athletes" if user.role == "coach" else "coaches"
                print(f"{user.id:>4}  {user.role:<8} {user.name:<24} {label}: {', '.join(linked) or '-'}")
    return 0
