"""Workflow rules as the API sees them: GET /file/rules and choosing a submission's rule."""

from __future__ import annotations

from fastapi import APIRouter, Request

from scanhive.api import headers
from scanhive.api.auth import runtime_of
from scanhive.api.responses import ApiError, WireJSONResponse
from scanhive.config import RuleSettings
from scanhive.runtime import Runtime
from scanhive.store import batches

router = APIRouter(tags=["analysis"])


def select_rule(runtime: Runtime, request: Request) -> RuleSettings:
    """The rule named by the `rule` (or deprecated `workflow`) header, checked against user_agent."""
    name = headers.text(request, "rule") or headers.text(request, "workflow")
    rule = runtime.settings.rule(name)
    if rule is None:
        raise ApiError(400, f"Invalid rule: {name}")
    user_agent = request.headers.get("user_agent", "")
    if rule.user_agents and user_agent not in rule.user_agents:
        raise ApiError(403, "Not allowed to use this rule")
    return rule


def batch_rule(runtime: Runtime, batch_id: str) -> RuleSettings:
    """The rule of the open batch a file is added to; 400 for an unknown or closed batch."""
    batch = batches.get(runtime.db, batch_id)
    if batch is None:
        raise ApiError(400, "Invalid batch id")
    if batch["is_closed"]:
        raise ApiError(400, "Batch is already closed")
    rule = runtime.settings.rule(batch["rule"])
    if rule is None:
        raise ApiError(400, f"Invalid rule: {batch['rule']}")
    return rule


@router.get("/file/rules")
def rules(request: Request) -> WireJSONResponse:
    user_agent = request.headers.get("user_agent", "")
    available = [
        {"max_file_size": r.max_file_size, "name": r.name}
        for r in runtime_of(request).settings.rules
        if not r.user_agents or user_agent in r.user_agents
    ]
    return WireJSONResponse(available)
