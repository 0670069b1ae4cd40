"""Manual approval: waits for PutApprovalResult (token in GetPipelineState); Rejected or no
answer within the timeout (7 days in AWS) fails the action."""

from __future__ import annotations

from .base import ActionContext, ActionFailed, Runner


def run(ctx: ActionContext) -> None:
    approval = ctx.open_approval()
    summary = ctx.configuration.get("CustomData")
    if summary:
        ctx.report(summary=summary)
    answered = ctx.wait_until(lambda: approval.result is not None, ctx.timeout)
    if not answered or approval.result is None:  # the second test only tells mypy
        raise ActionFailed("The approval action timed out: no one approved or rejected it in time")
    status, comment = approval.result
    ctx.report(summary=comment)
    if status != "Approved":
        raise ActionFailed(f"Rejected: {comment}" if comment else "Rejected", "JobFailed")


RUNNER = Runner(run, name="manual")
