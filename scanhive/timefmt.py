"""MetaDefender's timestamp format: UTC with milliseconds, e.g. 2016-07-05T11:07:09.897Z."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(moment: datetime | float) -> str:
    """Format a datetime or an epoch-seconds float."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, tz=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
