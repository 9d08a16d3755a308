"""The results database schema (SQLAlchemy Core): one schema for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

#: Job states. A job is durable from insert; every job ends in DONE. An archive whose own
#: analysis is finished WAITs for its extracted children, then rolls their results up.
QUEUED, RUNNING, WAITING, DONE = "queued", "running", "waiting", "done"

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True),
    Column("data_id", String(32), nullable=False, unique=True),
    Column("state", String(10), nullable=False, default=QUEUED),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(64)),  # who is running it: "<host>:<pid>"
    # what was submitted
    Column("display_name", Text, nullable=False, default=""),
    Column("file_size", BigInteger, nullable=False),
    Column("md5", String(32), nullable=False),
    Column("sha1", String(40), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("sha512", String(128), nullable=False),
    Column("storage_key", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("user_agent", Text, nullable=False, default=""),
    Column("username", Text, nullable=False, default=""),
    Column("metadata", Text),
    Column("callbackurl", Text),
    Column("archive_passwords", JSON),
    Column("global_timeout", Float),
    Column("batch_id", String(32)),
    Column("parent_data_id", String(32)),
    Column("depth", Integer, nullable=False, default=0),  # 0 for uploads, parent's + 1 for children
    Column("extraction", JSON),  # the extraction outcome, once the children are recorded
    Column("hash_time", Integer, nullable=False, default=0),
    # timings, epoch seconds
    Column("upload_ts", Float, nullable=False),
    Column("start_ts", Float),
    Column("end_ts", Float),
    # outcome
    Column("scan_all_result_i", Integer),
    Column("result", JSON),  # the analysis record the renderer turns into the report
    # the result's report.detections, kept with it so bulk hash lookups need not decode results
    Column("total_detected_avs", Integer),
)
Index("ix_jobs_state_seq", jobs.c.state, jobs.c.seq)
Index("ix_jobs_md5", jobs.c.md5)
Index("ix_jobs_sha1", jobs.c.sha1)
Index("ix_jobs_sha256", jobs.c.sha256)
Index("ix_jobs_sha512", jobs.c.sha512)
Index("ix_jobs_parent", jobs.c.parent_data_id)
Index("ix_jobs_batch", jobs.c.batch_id)

users = Table(
    "users",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("is_admin", Boolean, nullable=False, default=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("csrf_token", String(64), nullable=False),
    Column("username", String(128), ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    Column("expires_ts", Float, nullable=False),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("data_id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("state", String(10), nullable=False, default="pending"),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_ts", Float, nullable=False, default=0.0),
    Column("request_time", Float),
    Column("status_code", Integer),
)
Index("ix_webhooks_state_next", webhooks.c.state, webhooks.c.next_ts)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(32), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("user_agent", Text, nullable=False, default=""),
    Column("username", Text, nullable=False, default=""),
    Column("user_data", Text, nullable=False, default=""),
    Column("is_closed", Boolean, nullable=False, default=False),
    Column("created_ts", Float, nullable=False),
)

#: Run-time engine switches set through /admin/engine/{id}/enable|disable|pin|unpin.
engine_switches = Table(
    "engine_switches",
    metadata,
    Column("eng_id", String(64), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("pinned", Boolean, nullable=False, default=False),
)

#: /admin/config/skip: hashes allow-listed ("whitelist"), block-listed ("blacklist") or
#: excused from some engines ("skip").
hash_lists = Table(
    "hash_lists",
    metadata,
    Column("hash", String(128), primary_key=True),
    Column("list", String(16), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("engines", JSON),
)

#: Hash reputation: known-bad and known-good hashes imported from hash lists and feeds.
reputation = Table(
    "reputation",
    metadata,
    Column("hash", String(128), primary_key=True),
    Column("verdict", String(8), nullable=False),  # bad | good
    Column("threat_name", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("imported_ts", Float, nullable=False),
)
