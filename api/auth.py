"""Bearer-token authentication as FastAPI dependencies: the request's DB session and its user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.accounts import user_by_token
from api.db import User
from api.errors import ApiError

bearer = HTTPBearer(auto_error=False, description="a token made by `hinge users add NAME --role ...`")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_session)]


def current_user(session: DbSession,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "Sign in: send your token as 'Authorization: Bearer <token>'.", "unauthorized",
                       headers=_CHALLENGE)
    user = user_by_token(session, credentials.credentials)
    if user is None:
        raise ApiError(401, "That token is not valid; ask for a new one (hinge users add).", "unauthorized",
                       headers=_CHALLENGE)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_coach(user: CurrentUser) -> User:
    if user.role != "coach":
        raise ApiError(403, "Only coaches can do this; sign in with a coach's token.", "coach_only")
    return user


CurrentCoach = Annotated[User, Depends(require_coach)]
