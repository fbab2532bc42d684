"""How `cardtrace token list` and `token revoke` show tokens: a table for people, JSON for scripts."""

import dataclasses
import json
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from ingest.tokens import IssuedToken


def print_tokens(tokens: Sequence[IssuedToken], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([dataclasses.asdict(token) for token in tokens], indent=2))
        return
    if not tokens:
        print("no tokens (issue one with `cardtrace token issue --role ROLE`)", file=sys.stderr)
        return
    revoked = any(token.revoked_at is not None for token in tokens)
    table = Table("id", "role", "subject", "station", "issued at (UTC)", *(["revoked at (UTC)"] if revoked else []))
    for token in tokens:
        dates = [_minute(token.issued_at), *([_minute(token.revoked_at or "")] if revoked else [])]
        table.add_row(token.token_id, token.role, token.subject, token.station or "", *dates)
    Console(width=120).print(table)


def _minute(moment: str) -> str:
    """An ISO time to the minute, as people read it in a table ("2026-11-27 21:15")."""
    return moment[:16].replace("T", " ")
