"""Settings: one typed model, filled from defaults < config file (TOML) < SCANHIVE_* env < CLI.

Nested settings use a double underscore in the environment, e.g.
`SCANHIVE_CLAMAV__DATABASE_DIR=/var/lib/clamav`. Lists and tables (such as `rules`) take JSON.
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_RULE = "File Scan"

#: The config file for the Settings being built; set by `load_settings`.
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("config_file", default=None)


class ArchiveSettings(BaseModel):
    """Archive handling of a rule: whether containers are opened, and the limits (per archive)."""

    enabled: bool = True
    max_depth: int = 5  # result 9 beyond
    max_files: int = 10_000  # result 14 beyond
    max_total_size: int = 2 * 1024**3  # bytes decompressed from one archive; result 13 beyond
    max_file_size: int = 1024**3  # bytes of one extracted file; result 13 beyond
    timeout: float = 60.0  # seconds to extract one archive; result 16 beyond


class RuleSettings(BaseModel):
    """A workflow rule: which engines run, how big a file may be and which results block."""

    name: str
    engines: list[str] = Field(default_factory=lambda: ["*"], description="eng_ids, or * for all")
    max_file_size: int = 200_000_000
    #: scan_all_result_i values that leave process_info.result "Allowed"; every other code blocks.
    allow_results: list[int] = Field(default_factory=lambda: [0, 7, 39, 40])
    #: When not empty, only clients sending one of these user_agent headers may use the rule.
    user_agents: list[str] = Field(default_factory=list)
    engine_timeout: float = 60.0
    #: Per-engine timeouts (eng_id -> seconds) overriding engine_timeout.
    engine_timeouts: dict[str, float] = Field(default_factory=dict)
    global_timeout: float = 600.0
    #: Block these file types: type_category letters (e.g. "E") or MIME type regular expressions.
    blocked_types: list[str] = Field(default_factory=list)
    #: Block files whose extension does not match their content (result 17, Mismatch).
    detect_type_mismatch: bool = False
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)


class ClamAVSettings(BaseModel):
    """clamd, which ScanHive starts and supervises itself."""

    enabled: bool = True
    clamd_path: str = "clamd"
    #: Directory with extra signature files (.cvd/.cld/.ndb/.hdb ...) to load besides ScanHive's own.
    #: Defaults to the system freshclam directory when it holds a database.
    database_dir: Path | None = None
    system_database_dir: Path = Path("/var/lib/clamav")
    start_timeout: float = 300.0


class YaraSettings(BaseModel):
    enabled: bool = True
    #: Extra directories of .yar/.yara files compiled together with the bundled rules.
    rule_dirs: list[Path] = Field(default_factory=list)


class Settings(BaseSettings):
    """Everything ScanHive can be told. See README "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="SCANHIVE_", env_nested_delimiter="__", extra="forbid"
    )

    host: str = "127.0.0.1"
    port: int = 8008
    data_dir: Path = Path("scanhive-data")
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    #: Processes answering the API on its one port. More serve more requests at once where the
    #: API itself is the bound (hash lookups, resubmitted files, many clients polling) and cores
    #: are to spare; on a small machine they take CPU from the engines.
    api_processes: int = Field(default=1, ge=1)
    #: SQLAlchemy URL; defaults to a SQLite file in the data dir.
    database_url: str | None = None

    admin_user: str = "admin"
    admin_password: str | None = None
    #: Make an apikey (a login session_id or one of `apikeys`) mandatory for scanning and results.
    require_apikey: bool = False
    #: Static API keys accepted like a session_id (non-admin).
    apikeys: list[str] = Field(default_factory=list)
    session_timeout: int = 24 * 3600

    #: POST /file answers 503 while this many files wait or run.
    max_queue: int = 10_000
    #: POST /file answers 400 when the data dir's disk has less free space than this.
    min_free_disk_mb: int = 256
    #: Answer a resubmitted file (same bytes, same rule) at once from its earlier result while
    #: the engines and their definitions are the same; its report names the earlier data_id.
    reuse_results: bool = True

    webhook_attempts: int = 5
    webhook_timeout: float = 10.0
    webhook_retry_delay: float = 1.0

    default_rule: str = DEFAULT_RULE
    rules: list[RuleSettings] = Field(default_factory=lambda: [RuleSettings(name=DEFAULT_RULE)])
    clamav: ClamAVSettings = Field(default_factory=ClamAVSettings)
    yara: YaraSettings = Field(default_factory=YaraSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get()
        if config_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'scanhive.db').resolve()}"

    def rule(self, name: str | None) -> RuleSettings | None:
        """The named rule, the default rule for None, or None when no rule has that name."""
        wanted = name or self.default_rule
        return next((r for r in self.rules if r.name == wanted), None)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; `config_file` falls back to $SCANHIVE_CONFIG. None overrides are ignored."""
    if config_file is None and os.environ.get("SCANHIVE_CONFIG"):
        config_file = Path(os.environ["SCANHIVE_CONFIG"])
    if config_file is not None and not config_file.is_file():
        raise FileNotFoundError(f"config file not found: {config_file}")
    token = _config_file.set(config_file)
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    finally:
        _config_file.reset(token)
