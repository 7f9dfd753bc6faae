"""Accounts: athletes and coaches, bearer tokens (kept only as sha256), coach-athlete links.

Used by ``hinge users`` and by the API's auth dependency; no web framework imports here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyzer.errors import AnalyzerError
from api.db import ROLES, CoachLink, User

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


class AccountError(AnalyzerError):
    """A user command that can't be done: duplicate or unknown name, wrong role."""

    exit_code = 2
    http_status = 400


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A random bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewUser:
    user_id: int
    name: str
    role: str
    token: str


def add_user(session: Session, name: str, role: str) -> NewUser:
    """Create a user and return its token (the only time it is seen; only its hash is stored)."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not _NAME.match(name):
        raise AccountError(f"{name!r}: names are 1-64 letters, digits or _ . @ - and start with a letter or digit")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise AccountError(f"a user named {name!r} already exists; pick another name")
    token = new_token()
    user = User(name=name, role=role, token_sha256=hash_token(token))
    session.add(user)
    session.commit()
    return NewUser(user.id, name, role, token)


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user named {name!r}; see 'hinge users list'")
    return user


def link(session: Session, coach_name: str, athlete_name: str) -> bool:
    """Let a coach see and review an athlete's analyses; False if they were already linked."""
    coach, athlete = find_user(session, coach_name), find_user(session, athlete_name)
    if coach.role != "coach":
        raise AccountError(f"{coach_name!r} is an {coach.role}, not a coach")
    if athlete.role != "athlete":
        raise AccountError(f"{athlete_name!r} is a {athlete.role}, not an athlete")
    if session.get(CoachLink, (coach.id, athlete.id)) is not None:
        return False
    session.add(CoachLink(coach_id=coach.id, athlete_id=athlete.id))
    session.commit()
    return True


def user_by_token(session: Session, token: str) -> User | None:
    # Looked up by hash, so the comparison never touches the secret itself.
    return session.scalar(select(User).where(User.token_sha256 == hash_token(token)))


def linked_athletes(session: Session, coach_id: int) -> list[User]:
    query = (select(User).join(CoachLink, CoachLink.athlete_id == User.id)
             .where(CoachLink.coach_id == coach_id).order_by(User.name))
    return list(session.scalars(query))


def visible_athlete_ids(session: Session, user: User) -> set[int]:
    """Whose analyses this user may see: an athlete their own, a coach their linked athletes'."""
    if user.role == "athlete":
        return {user.id}
    return {a.id for a in linked_athletes(session, user.id)}


def list_users(session: Session) -> list[tuple[User, list[str]]]:
    """Every user with the names linked to it (a coach's athletes, an athlete's coaches)."""
    users = list(session.scalars(select(User).order_by(User.role, User.name)))
    names = {u.id: u.name for u in users}
    links = list(session.scalars(select(CoachLink)))
    linked: dict[int, list[str]] = {u.id: [] for u in users}
    for item in links:
        linked[item.coach_id].append(names[item.athlete_id])
        linked[item.athlete_id].append(names[item.coach_id])
    return [(u, sorted(linked[u.id])) for u in users]
