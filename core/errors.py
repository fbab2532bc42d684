"""Typed domain errors. Every refusal the plant can meet has a name and a message naming the problem.

The ingest layer maps the families to HTTP: InvalidId/InvalidCommand -> 422, UnknownEntity -> 404,
RuleViolation -> 409, NotAuthorized -> 403.
"""


class DomainError(Exception):
    """Base of every error core raises on purpose."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidId(DomainError):
    """A barcode or id that does not parse; the message names the wrong part."""

    code = "invalid_id"


class InvalidCommand(DomainError):
    """A command missing data it needs (a QA scan without a result) or carrying data it may not."""

    code = "invalid_command"


class FactoryConfigError(DomainError):
    """The factory configuration is malformed (cycle, unknown station type, missing field, duplicate id)."""

    code = "invalid_factory"


class UnknownEntity(DomainError):
    """The id is well formed but nothing with that id exists (yet)."""

    code = "not_found"


class RuleViolation(DomainError):
    """The command conflicts with the entity's current state: out of routing order, wrong set, duplicate."""

    code = "conflict"


class NotAuthorized(DomainError):
    """The command needs an authority the requester does not hold (a manager's override)."""

    code = "forbidden"
