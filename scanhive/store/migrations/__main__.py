"""`python -m scanhive.store.migrations "what changes"`: write the next revision, for developers.

Alembic's autogenerate compares schema.py with a scratch SQLite database brought to the newest
revision, and writes the difference as versions/NNNN_<message>.py, to be reviewed (data changes
and backfills are written by hand).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from scanhive.store.migrate import config, upgrade


def write_revision(message: str) -> Path:
    """Autogenerate the next revision from schema.py; returns its file."""
    with tempfile.TemporaryDirectory() as scratch:
        db = create_engine(f"sqlite:///{scratch}/scratch.db")
        upgrade(db)
        with db.begin() as conn:
            generating = config(conn)
            generating.set_main_option("file_template", "%%(rev)s_%%(slug)s")
            number = len(list(ScriptDirectory.from_config(generating).walk_revisions())) + 1
            script = command.revision(generating, message, autogenerate=True, rev_id=f"{number:04d}")
        db.dispose()
    assert script is not None and not isinstance(script, list)  # one revision, on the one branch
    return Path(script.path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m scanhive.store.migrations", description=__doc__.splitlines()[0])
    parser.add_argument("message", help="what the revision changes, e.g. 'add jobs.priority'")
    print(write_revision(parser.parse_args().message))


if __name__ == "__main__":
    main()
