"""`cardtrace`: the command line and the composition root (CONTRACTS section 4).

Each command parses its options, makes one call into the package that owns the work, and renders. Errors go
to stderr with exit code != 0. Heavy packages are imported inside each command so `cardtrace --help` is fast.
"""

import argparse
import gc
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from core.errors import DomainError
from projections.data_dir import DataDir, resolve_data_dir
from projections.lake.errors import LakeError
from projections.store.errors import EventStoreError

ROLES = ("operator", "manager", "planner", "analyst", "admin")
# The cyclic garbage collector's thresholds for every command (CPython's default: 700, 10, 10). See
# `tune_garbage_collector`.
COLLECTOR_THRESHOLDS = (100_000, 50, 100)


def tune_garbage_collector() -> None:
    """Run CPython's cycle collector far less often than its default, as long-running Python services do.

    A scan allocates a few hundred short-lived objects, almost all freed by reference counting; at the default
    a young-generation pass runs every 700 allocations and an older one every 7,000, and with a large heap
    (a month of plant in the simulator, the service's caches) the collector took a quarter of a simulation's
    time (`cardtrace simulate --days 2`: 5,100-5,500 events/s at the default, 7,300-7,900 with these,
    measured). Cycles are still collected, just in larger batches.
    """
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def _serve(args: argparse.Namespace, data: DataDir) -> int:
    from ingest.server import run_server

    return run_server(data, host=args.host, port=args.port)


def _demo(args: argparse.Namespace, data: DataDir) -> int:
    from apps.demo import run_demo

    return run_demo(data, port=args.port, apps_port=args.apps_port)


def _simulate(args: argparse.Namespace, data: DataDir) -> int:
    from apps.simulate.runner import simulate

    if (args.via is None) != (args.token is None):
        raise SystemExit("cardtrace simulate: --via and --token go together")
    summary = simulate(data, days=args.days, seed=args.seed, via=args.via, token=args.token)
    print(summary.render())
    if args.via is None:  # a remote server keeps its own read models fresh
        from projections.materialize import refresh

        refresh(data)
    return 0


def _schedule(args: argparse.Namespace, data: DataDir) -> int:
    from scheduling.cli import run_schedule_command

    return run_schedule_command(Path(args.problem), time_limit=args.time_limit, objective=args.objective)


def _token(args: argparse.Namespace, data: DataDir) -> int:
    from ingest.tokens import issue_token

    token = issue_token(data, role=args.role, subject=args.subject, station=args.station)
    print(f"issued a {args.role} token" + (f" for {args.subject}" if args.subject else ""), file=sys.stderr)
    print(token)
    return 0


def _token_list(args: argparse.Namespace, data: DataDir) -> int:
    from apps.cli.tokens import print_tokens
    from ingest.tokens import list_tokens

    print_tokens(list_tokens(data, include_revoked=args.all), as_json=args.json)
    return 0


def _token_revoke(args: argparse.Namespace, data: DataDir) -> int:
    from apps.cli.tokens import print_tokens
    from ingest.tokens import REFRESH_SECONDS, revoke_tokens

    revoked = revoke_tokens(data, args.token_ids, subject=args.subject)
    print_tokens(revoked, as_json=False)
    print(
        f"revoked {len(revoked)} token(s): a running server refuses them within {REFRESH_SECONDS:g} s",
        file=sys.stderr,
    )
    return 0


def _apps(args: argparse.Namespace, data: DataDir) -> int:
    from apps.dashboard.launch import run_apps

    return run_apps(data, port=args.port)


def _rebuild(args: argparse.Namespace, data: DataDir) -> int:
    from projections.materialize import rebuild

    stored = rebuild(data)
    print(f"rebuilt {', '.join(sorted(stored.tables))} through event {stored.last_sequence:,} in {stored.directory}")
    return 0


def _compact(args: argparse.Namespace, data: DataDir) -> int:
    from projections.lake.table import compact_lake

    print(compact_lake(data))
    return 0


def _recover_journal(args: argparse.Namespace, data: DataDir) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from projections.store.recovery import recover_journal

    with Progress(transient=True, console=Console(stderr=True)) as progress:  # stdout keeps the result alone
        task = progress.add_task("copying the lake's events into the journal", total=None)
        recovery = recover_journal(
            data, on_day=lambda day, events: progress.update(task, advance=events, description=f"copied {day}")
        )
    if recovery.events_copied == 0:
        print(
            f"the journal already reaches the lake's last event ({recovery.lake_last:,}): nothing to recover",
            file=sys.stderr,
        )
        return 0
    print(
        f"recovered events {recovery.journal_last_before + 1:,}..{recovery.lake_last:,}"
        f" ({recovery.events_copied:,} events, {recovery.scans_recovered:,} scans) from the lake into"
        f" {data.journal_path}"
    )
    return 0


def _backup_journal(args: argparse.Namespace, data: DataDir) -> int:
    from rich.console import Console

    from projections.store.backup import backup_journal

    with Console(stderr=True).status(f"copying the journal to {args.destination}"):
        copy = backup_journal(data, Path(args.destination))
    print(f"backed up events 1..{copy.last_sequence:,} ({copy.size_bytes / 2**20:,.1f} MiB) to {copy.path}")
    return 0


def _restore_journal(args: argparse.Namespace, data: DataDir) -> int:
    from projections.lake.table import LakeTable
    from projections.store.backup import restore_journal

    replaced = restore_journal(data, Path(args.copy), force=args.force)
    print(f"restored the journal from {args.copy}", file=sys.stderr)
    if replaced is not None:
        print(f"the journal it replaced was moved to {replaced}", file=sys.stderr)
    try:
        lake_exists = LakeTable.for_data_dir(data).exists()
    except Exception as error:  # forced past a lake that cannot be reached
        print(
            f"cardtrace restore-journal: the lake cannot be read ({error}); run recover-journal once it reads",
            file=sys.stderr,
        )
        return 2
    if not lake_exists:
        print("there is no lake beside it: the copy is the whole log", file=sys.stderr)
        return 0
    return _recover_journal(args, data)  # the copy is older than the lake: bring it up to it


def _positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--days must be a number of days, not {text!r}") from None
    if not days > 0:
        raise argparse.ArgumentTypeError(f"--days must be more than 0, not {text}")
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cardtrace", description="Production tracking for a trading-card plant.")
    parser.add_argument("--data", default=None, help="data directory (default: $CARDTRACE_DATA, else ./data)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, run: Callable[[argparse.Namespace, DataDir], int], help_text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    serve = command("serve", _serve, "run the ingest + read HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)

    demo = command("demo", _demo, "prepare a demo plant in --data and start everything a user looks at")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--apps-port", type=int, default=8501)

    simulate = command("simulate", _simulate, "simulate the plant floor, writing scans through the ingest path")
    simulate.add_argument("--days", type=_positive_days, default=30, help="days of plant time (fractions allowed)")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--via", default=None, help="base URL of a running `cardtrace serve`")
    simulate.add_argument("--token", default=None, help="bearer token for --via")

    schedule = command("schedule", _schedule, "solve a scheduling problem (CONTRACTS section 6); JSON on stdout")
    schedule.add_argument("--problem", required=True)
    schedule.add_argument("--time-limit", type=float, default=30.0)
    schedule.add_argument("--objective", choices=("makespan", "tardiness"), default="makespan")

    token = commands.add_parser("token", help="manage bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    issue = token_commands.add_parser("issue", help="print a new bearer token (the last line is the token alone)")
    issue.set_defaults(run=_token)
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--subject", default=None)
    issue.add_argument("--station", default=None)
    listing = token_commands.add_parser("list", help="the tokens issued here: id, role, subject, station, dates")
    listing.set_defaults(run=_token_list)
    listing.add_argument("--all", action="store_true", help="the revoked tokens too")
    listing.add_argument("--json", action="store_true", help="JSON on stdout instead of a table")
    revoke = token_commands.add_parser("revoke", help="stop tokens working (a lost scanner, a person who left)")
    revoke.set_defaults(run=_token_revoke)
    revoke.add_argument("token_ids", nargs="*", metavar="ID", help="a token id from `token list` (or the token)")
    revoke.add_argument("--subject", default=None, help="every live token held by this subject")

    apps = command("apps", _apps, "run the Streamlit apps on the lake in --data")
    apps.add_argument("--port", type=int, default=8501)

    command("rebuild", _rebuild, "rebuild the read models from the event log")
    command(
        "recover-journal",
        _recover_journal,
        "copy the lake's events into a journal that was lost or restored from an older copy",
    )
    backup = command("backup-journal", _backup_journal, "copy the journal, consistent, while the service runs")
    backup.add_argument("destination", metavar="FILE", help="the copy to write (a new file)")
    restore = command(
        "restore-journal",
        _restore_journal,
        "put a journal backup back (service stopped; the current journal is moved aside), then recover the events"
        " sealed into the lake since",
    )
    restore.add_argument("copy", metavar="FILE", help="a copy written by backup-journal")
    restore.add_argument(
        "--force", action="store_true", help="even if the journal holds acknowledged events the lake does not"
    )
    command("compact", _compact, "compact the lake's small files and write a checkpoint")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data = resolve_data_dir(args.data)
    tune_garbage_collector()
    try:
        code: int = args.run(args, data)
    except DomainError as error:
        print(f"cardtrace {args.command}: {error.message}", file=sys.stderr)
        return 2
    except (EventStoreError, LakeError) as error:  # an operator problem: the message names the file and the fix
        print(f"cardtrace {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def run() -> NoReturn:
    """The `cardtrace` command: `main`, then out without finalizing the interpreter.

    Native thread pools (Arrow's, DuckDB's) torn down at interpreter exit now and then abort the process
    ("terminate called without an active exception", apache/arrow#34314): a command that did its work would
    end with SIGABRT (seen once in CI after `recover-journal` had finished). Every command has closed what it
    opened by the time `main` returns, so its output is flushed and the process leaves at once.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    run()
