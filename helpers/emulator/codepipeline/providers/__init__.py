"""Action providers: one small module per kind of action the runtime can run offline.

A provider module has a function run(ctx: ActionContext) that does the action's work and
returns normally for success or raises ActionFailed, and a RUNNER (base.Runner) bundling
run with what the rest of the kit asks of the provider (configuration checks, its source
revision type, the view's panel, deploy targets). Registering a provider is one entry in
the catalogue of action_types.py that carries its RUNNER (runner=...); nothing else names
providers. Custom and ThirdParty types all carry job_worker.RUNNER: a job for an outside
worker.
"""

from __future__ import annotations

from .base import ActionContext, ActionFailed, Runner

__all__ = ["ActionContext", "ActionFailed", "Runner"]
