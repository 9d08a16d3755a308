"""The client commands of `scanhive`: scan, hash, result, download and engines.

They work against ScanHive and any MetaDefender Core or Cloud v4 server (a --url ending in /v4).

Exit codes, the same for every command:

    0  everything clean or allowed (hash: nothing known to be infected)
    1  something infected or blocked (this wins when files also failed)
    2  something failed: a failed scan, an error, a timeout, an unknown id
    3  usage error: bad option, missing argument, path that does not exist
    4  authentication error (401/403)
    5  server busy (503) or rate limited (429) after the retries
    6  network failure: the server cannot be reached
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from enum import IntEnum
from itertools import islice
from pathlib import Path
from typing import Annotated, NoReturn, Optional, TypeVar

import typer
from rich.console import Console
from typer.core import TyperCommand

from scanhive.client import output
from scanhive.client.errors import AuthError, ConnectionFailed, RateLimited, ScanHiveError, ServerBusy
from scanhive.client.models import BatchStatus, HashResult
from scanhive.client.operations import BULK_LIMIT
from scanhive.client.scanning import FileOutcome, ScanOptions, Status, collect_files, report_status, scan_files
from scanhive.client.sdk import DEFAULT_URL, DEFAULT_WAIT, AsyncClient, Client


AnyClient = TypeVar("AnyClient", Client, AsyncClient)


class ExitCode(IntEnum):
    """The exit codes of the client commands (see the module docstring)."""

    OK = 0
    THREAT = 1
    FAILED = 2
    USAGE = 3
    AUTH = 4
    BUSY = 5
    NETWORK = 6


EXIT_CODE_MEANINGS = {
    ExitCode.OK: "everything clean or allowed (hash: nothing known to be infected)",
    ExitCode.THREAT: "something infected or blocked (this wins when files also failed)",
    ExitCode.FAILED: "something failed: a failed scan, an error, a timeout, an unknown id",
    ExitCode.USAGE: "usage error: bad option, missing argument, path that does not exist",
    ExitCode.AUTH: "authentication error (401/403)",
    ExitCode.BUSY: "server busy (503) or rate limited (429) after the retries",
    ExitCode.NETWORK: "network failure: the server cannot be reached",
}
EXIT_CODES_HELP = "Exit codes:\n\n" + "\n\n".join(f"{int(code)}  {text}" for code, text in EXIT_CODE_MEANINGS.items())


#: click's UsageError, found through typer's public BadParameter (newer typer versions vendor click).
UsageError: type[Exception] = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


class _Command(TyperCommand):
    """A command whose command-line mistakes exit with ExitCode.USAGE instead of click's 2."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            exc.exit_code = ExitCode.USAGE
            raise


Url = Annotated[
    str, typer.Option("--url", envvar="SCANHIVE_URL", help="Server URL; one ending in /v4 is MetaDefender Cloud.")
]
ApiKey = Annotated[
    Optional[str], typer.Option("--apikey", envvar="SCANHIVE_APIKEY", help="API key, sent as the apikey header.")
]
Retries = Annotated[int, typer.Option("--retries", min=0, help="How often to retry 503/429 answers, with pauses.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON array.")]
AsJsonLines = Annotated[bool, typer.Option("--jsonl", help="Print one JSON object per line, as results come.")]


def register(app: typer.Typer) -> None:
    """Add the client commands to the `scanhive` command."""
    commands = {"scan": scan, "hash": hash_, "result": result, "download": download, "engines": engines}
    for name, command in commands.items():
        app.command(name, cls=_Command, epilog=EXIT_CODES_HELP)(command)


def scan(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="Files and folders (scanned recursively).")],
    include: Annotated[
        Optional[list[str]],
        typer.Option("--include", help="Only files whose name or relative path match this glob (repeatable)."),
    ] = None,
    exclude: Annotated[
        Optional[list[str]], typer.Option("--exclude", help="Skip files and folders matching this glob (repeatable).")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Files in flight at once.")] = 4,
    rule: Annotated[Optional[str], typer.Option("--rule", help="Workflow rule to analyze with.")] = None,
    archive_password: Annotated[
        Optional[list[str]], typer.Option("--archive-password", help="Password to try on archives (repeatable).")
    ] = None,
    batch: Annotated[bool, typer.Option("--batch", help="Put all files in one batch and print its summary.")] = False,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Only upload; print the data_ids.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0, help="Seconds to wait for each file's result.")
    ] = DEFAULT_WAIT,
    as_json: AsJson = False,
    as_jsonl: AsJsonLines = False,
    url: Url = DEFAULT_URL,
    apikey: ApiKey = None,
    retries: Retries = 5,
) -> None:
    """Upload files and folders for analysis, wait for the verdicts and print them."""
    if as_json and as_jsonl:
        _usage_error("choose one of --json and --jsonl")
    outcomes = [FileOutcome.for_path(path) for path in collect_files(paths, include or [], exclude or [])]
    if not outcomes:
        typer.echo("no files to scan", err=True)
        raise typer.Exit(ExitCode.OK)
    options = ScanOptions(rule=rule, archive_passwords=archive_password or [], wait=not no_wait, timeout=timeout)
    client = _connect(AsyncClient, url, apikey, retries)
    show_progress = sys.stdout.isatty() and not as_jsonl  # JSON lines stream instead of a bar
    with _exit_on_error():
        batch_status = asyncio.run(_scan(client, outcomes, options, batch, concurrency, show_progress, as_jsonl))
    if as_json:
        output.print_json([outcome.to_json() for outcome in outcomes])
    elif not as_jsonl:
        Console().print(output.outcomes_table(outcomes) if options.wait else output.submissions_table(outcomes))
    if batch_status is not None:
        typer.echo(output.batch_summary(batch_status), err=as_json or as_jsonl)
    raise typer.Exit(_exit_code(outcome.status for outcome in outcomes))


async def _scan(
    client: AsyncClient,
    outcomes: list[FileOutcome],
    options: ScanOptions,
    batch: bool,
    concurrency: int,
    show_progress: bool,
    print_lines: bool,
) -> BatchStatus | None:
    """Scan the files (in one batch if asked) with a progress bar on a terminal; returns the batch status."""
    total = sum(outcome.size for outcome in outcomes)
    progress = output.scan_progress(Console(), len(outcomes), total, disable=not show_progress)
    done = 0

    def on_done(outcome: FileOutcome) -> None:
        nonlocal done
        done += 1
        progress.update(0, done=done)
        if print_lines:
            output.print_json_line(outcome.to_json())

    async with client:
        if batch:
            options.batch = await client.create_batch(rule=options.rule)
        with progress:
            await scan_files(client, outcomes, options, concurrency, lambda sent: progress.advance(0, sent), on_done)
        if options.batch is None:
            return None
        status = await client.close_batch(options.batch)
        return await client.wait_batch(options.batch, options.timeout) if options.wait else status


def hash_(
    hashes: Annotated[
        Optional[list[str]], typer.Argument(help="md5, sha1, sha256 or sha512 hashes.", show_default=False)
    ] = None,
    hash_file: Annotated[
        Optional[Path], typer.Option("--file", "-f", help="File with one hash per line ('-' reads stdin).")
    ] = None,
    details: Annotated[bool, typer.Option("--details", help="Include each engine's result (--json/--jsonl).")] = False,
    as_json: AsJson = False,
    as_jsonl: AsJsonLines = False,
    url: Url = DEFAULT_URL,
    apikey: ApiKey = None,
    retries: Retries = 5,
) -> None:
    """Look hashes up, in bulk requests of 1000 where the server supports them."""
    if as_json and as_jsonl:
        _usage_error("choose one of --json and --jsonl")
    if not hashes and hash_file is None:
        _usage_error("give hashes as arguments or with --file")
    if hash_file is not None and str(hash_file) != "-" and not hash_file.is_file():
        _usage_error(f"--file {hash_file}: no such file")
    found: list[HashResult] = []
    with _exit_on_error(), _connect(Client, url, apikey, retries) as client:
        for chunk in _chunks(_hashes(hashes or [], hash_file), BULK_LIMIT):
            results = client.lookup_many(chunk, details=details)
            if as_jsonl:
                for item in results:
                    output.print_json_line(output.hash_json(item))
            found.extend(results)
    if as_json:
        output.print_json([output.hash_json(item) for item in found])
    elif not as_jsonl:
        Console().print(output.hash_table(found))
    raise typer.Exit(ExitCode.THREAT if any(item.detected for item in found) else ExitCode.OK)


def result(
    data_id: Annotated[str, typer.Argument(help="The data_id the upload answered.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's report as JSON.")] = False,
    url: Url = DEFAULT_URL,
    apikey: ApiKey = None,
    retries: Retries = 5,
) -> None:
    """Print the analysis report of a data_id."""
    with _exit_on_error(), _connect(Client, url, apikey, retries) as client:
        report = client.result(data_id)
    if as_json:
        output.print_json(report.raw)
    else:
        Console().print(output.report_table(report))
    raise typer.Exit(_exit_code([report_status(report)]))


def download(
    data_id: Annotated[str, typer.Argument(help="The data_id of the sanitized file.")],
    dest: Annotated[
        Optional[Path],
        typer.Option("--output", "-o", help="File or folder to save it in [default: the server's name for it, here]."),
    ] = None,
    url: Url = DEFAULT_URL,
    apikey: ApiKey = None,
    retries: Retries = 5,
) -> None:
    """Download the sanitized (CDR) version of an analyzed file."""
    with _exit_on_error(), _connect(Client, url, apikey, retries) as client:
        if dest is None or dest.is_dir():
            dest = (dest or Path()) / _sanitized_name(client, data_id)
        saved = client.download_sanitized(data_id, dest)
    typer.echo(f"saved {saved} ({saved.stat().st_size} bytes)")


def engines(
    as_json: Annotated[bool, typer.Option("--json", help="Print the server's engine list as JSON.")] = False,
    url: Url = DEFAULT_URL,
    apikey: ApiKey = None,
    retries: Retries = 5,
) -> None:
    """List the server's engines and their state."""
    with _exit_on_error(), _connect(Client, url, apikey, retries) as client:
        found = client.engines()
    if as_json:
        output.print_json([engine.raw for engine in found])
    else:
        Console().print(output.engines_table(found))


def _connect(kind: type[AnyClient], url: str, apikey: str | None, retries: int) -> AnyClient:
    """A Client or AsyncClient from the common options; a Cloud URL without an apikey is a usage error."""
    try:
        return kind(url, apikey, retries=retries)
    except ValueError as exc:
        _usage_error(f"{exc} (--apikey or SCANHIVE_APIKEY)")


def _sanitized_name(client: Client, data_id: str) -> Path:
    """The file name the server gives the sanitized file, else one made from the original's."""
    report = client.result(data_id)
    post = report.raw.get("process_info", {}).get("post_processing") or {}
    original = report.file.display_name
    name = post.get("converted_destination") or (f"sanitized_{original}" if original else "")
    name = Path(name.replace("\\", "/")).name
    return Path(name if name not in ("", ".", "..") else f"{data_id}.sanitized")


def _hashes(arguments: Sequence[str], hash_file: Path | None) -> Iterator[str]:
    """The hashes from the arguments, then from the file (blank lines and # comments skipped)."""
    yield from arguments
    if hash_file is None:
        return
    with nullcontext(sys.stdin) if str(hash_file) == "-" else open(hash_file) as lines:
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                yield line


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _exit_code(statuses: Iterable[Status]) -> ExitCode:
    """THREAT if anything was infected or blocked, else FAILED if anything failed, else OK."""
    seen = set(statuses)
    if seen & {Status.INFECTED, Status.BLOCKED}:
        return ExitCode.THREAT
    if Status.FAILED in seen:
        return ExitCode.FAILED
    return ExitCode.OK


@contextmanager
def _exit_on_error() -> Iterator[None]:
    """Turn a client error into one line on stderr and its exit code."""
    try:
        yield
    except AuthError as exc:
        _fail(exc, ExitCode.AUTH)
    except (ServerBusy, RateLimited) as exc:
        _fail(exc, ExitCode.BUSY)
    except ConnectionFailed as exc:
        _fail(exc, ExitCode.NETWORK)
    except (ScanHiveError, OSError) as exc:
        _fail(exc, ExitCode.FAILED)


def _fail(error: Exception, code: ExitCode) -> NoReturn:
    """Print `error: ...` on stderr and exit with `code`."""
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code)


def _usage_error(message: str) -> NoReturn:
    """Stop with a usage error (exit code 3)."""
    error = UsageError(message)
    error.exit_code = ExitCode.USAGE
    raise error
