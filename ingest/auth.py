"""Who may do what: roles to permissions, and the bearer-token dependency every endpoint but /health declares.

Reads are open to every role (the floor looks up a card's state, a manager watches the queues); writes are
granted per role. An admin holds every permission. Overrides and voids are a manager's call (core checks them
again on the command itself, so an in-process caller gets the same rule).
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.commands import Actor, Role
from core.errors import NotAuthorized
from ingest.tokens import Credential, TokenBook

Permission = Literal["scan", "override", "void", "replace", "plan", "read"]

GRANTS: dict[Role, frozenset[Permission]] = {
    "operator": frozenset({"scan", "read"}),
    "manager": frozenset({"scan", "override", "void", "replace", "read"}),
    "planner": frozenset({"plan", "replace", "read"}),
    "analyst": frozenset({"read"}),
    "admin": frozenset({"scan", "override", "void", "replace", "plan", "read"}),
}


class Unauthenticated(Exception):
    """No bearer token, or one nobody issued: 401."""


def actor_of(credential: Credential) -> Actor:
    return Actor(subject=credential.subject, role=credential.role)


def require(credential: Credential, permission: Permission) -> None:
    if permission not in GRANTS[credential.role]:
        raise NotAuthorized(f"{credential.subject} holds role {credential.role}, which may not {_ACTS[permission]}")


_ACTS: dict[Permission, str] = {
    "scan": "record scans",
    "override": "authorize overrides",
    "void": "void card units",
    "replace": "order replacements",
    "plan": "create jobs",
    "read": "read",
}

_bearer = HTTPBearer(auto_error=False, description="A token printed by `cardtrace token issue --role ROLE`.")


def credential_of(request: Request, permission: Permission) -> Credential:
    """The caller's credential from `Authorization: Bearer <token>`, once it is known to hold `permission`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("this endpoint needs 'Authorization: Bearer <token>'")
    book: TokenBook = request.app.state.tokens
    credential = book.credential(token)
    if credential is None:
        raise Unauthenticated("the bearer token is not one this plant issued")
    require(credential, permission)
    return credential


def permitted(permission: Permission) -> Callable[..., Coroutine[Any, Any, Credential]]:
    """A dependency: the caller's credential, once it is known to hold `permission` (401 / 403 otherwise).

    Async on purpose: a sync dependency would cost a thread-pool hop per request for a dictionary lookup. The
    bearer scheme is declared (and ignored) so the OpenAPI document names the security every route needs.
    """

    async def dependency(
        request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Credential:
        return credential_of(request, permission)

    return dependency
