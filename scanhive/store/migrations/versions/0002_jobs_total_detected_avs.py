"""jobs.total_detected_avs: each finished result's count of detections, for bulk hash lookups.

Finished jobs are counted by the function that counts new results (report.detections), so the
backfill and the running code agree by construction. They are read and updated one range of seq
at a time, so the memory used does not grow with the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from scanhive.analysis.report import detections

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BATCH = 10_000  # seq values per round trip
_jobs = sa.table(
    "jobs",
    sa.column("seq", sa.Integer),
    sa.column("state", sa.String),
    sa.column("result", sa.JSON),
    sa.column("total_detected_avs", sa.Integer),
)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("total_detected_avs", sa.Integer(), nullable=True))
    conn = op.get_bind()
    lowest, highest = conn.execute(sa.select(sa.func.min(_jobs.c.seq), sa.func.max(_jobs.c.seq))).one()
    if lowest is None:
        return
    finished = sa.select(_jobs.c.seq, _jobs.c.result["engines"]).where(
        _jobs.c.seq.between(sa.bindparam("first"), sa.bindparam("last")), _jobs.c.state == "done"
    )
    count = _jobs.update().where(_jobs.c.seq == sa.bindparam("row")).values(total_detected_avs=sa.bindparam("count"))
    for first in range(lowest, highest + 1, _BATCH):
        rows = conn.execute(finished, {"first": first, "last": first + _BATCH - 1}).all()
        if rows:
            conn.execute(count, [{"row": seq, "count": detections({"engines": engines or {}})} for seq, engines in rows])
