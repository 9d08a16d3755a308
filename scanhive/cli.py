"""The `scanhive` command: `serve` runs the server; the client commands live in scanhive.client.cli."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from scanhive.client.cli import register as register_client_commands

app = typer.Typer(help="ScanHive: multi-engine file analysis server (MetaDefender API).", no_args_is_help=True)


@app.callback()
def main() -> None:
    """ScanHive: multi-engine file analysis server speaking the MetaDefender REST APIs."""


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Address to listen on [default: 127.0.0.1]")] = None,
    port: Annotated[Optional[int], typer.Option(help="Core API port [default: 8008]")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Database and files [default: ./scanhive-data]")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Analysis worker processes [default: CPU count]")] = None,
    api_processes: Annotated[Optional[int], typer.Option(help="Processes answering the API [default: 1]")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML config file [env: SCANHIVE_CONFIG]")] = None,
) -> None:
    """Start the API, the workers and the engines on the embedded default (SQLite + directory)."""
    from scanhive.config import load_settings
    from scanhive.server import run

    settings = load_settings(
        config, host=host, port=port, data_dir=data_dir, workers=workers, api_processes=api_processes
    )
    run(settings)


reputation_app = typer.Typer(help="Hash reputation: known-bad and known-good hashes.", no_args_is_help=True)
app.add_typer(reputation_app, name="reputation")


@reputation_app.command("import")
def reputation_import(
    files: Annotated[list[Path], typer.Argument(help="Hash lists (one hash per line) or CSV exports (.csv)", exists=True)],
    known: Annotated[str, typer.Option(help="What the hashes are: bad or good")] = "bad",
    data_dir: Annotated[Optional[Path], typer.Option(help="The server's data dir [default: ./scanhive-data]")] = None,
    config: Annotated[Optional[Path], typer.Option(help="TOML config file [env: SCANHIVE_CONFIG]")] = None,
) -> None:
    """Import known-bad or known-good hashes; a running server uses them from its next file on."""
    from scanhive.config import load_settings
    from scanhive.engines.reputation import import_file
    from scanhive.store.database import open_database

    if known not in ("bad", "good"):
        raise typer.BadParameter("--known must be bad or good")
    settings = load_settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings.resolved_database_url)
    for path in files:
        typer.echo(f"{path}: imported {import_file(db, path, known)} {known} hash(es)")


register_client_commands(app)
