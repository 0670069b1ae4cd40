"""A live view of a pipeline, drawn like the AWS console, for notebooks.

    from helpers.views import pipeline_view
    view = pipeline_view(kit.client("codepipeline"), pipeline_name)
    view                      # the last line of a cell: the stages, updating live
    view.follow()             # or: block the cell until the latest execution ends
    view.stop()               # at the end of a lab: stop refreshing, keep the drawing

The view is an ipywidgets widget: stages left to right (vertical=True: top to bottom),
one box per action coloured by status, the latest execution and its source revision,
Approve / Reject on an approval that waits, Stop on an execution in progress (running
actions finish; Abandon then stops without them, as the console's "Stop and abandon"),
Retry on a failed stage (its failed actions, as the console's "Retry failed actions"),
the build log (offline: its tail; a real account: a console link) and the deployment's
per-instance lifecycle events.

While displayed, a background thread polls GetPipelineState every poll_seconds; it stops
after idle_seconds without an execution in progress (the "Follow" button starts it
again) and on stop(), which leaves the last drawing on the page (close() removes the
view from the page: every output where it was shown empties). The thread only reads:
it hands what it read to the kernel's own thread (the asyncio loop ipykernel runs cells
on, call_soon_threadsafe), which redraws the widgets, as widgets are meant to be changed
from the thread that serves their comms (button clicks, trait syncs). While a cell runs,
the view catches up when it ends. Outside a kernel (a script, the tests) there is no
such loop and the thread redraws. follow() refreshes from the cell itself, for notebooks
run top to bottom, and prints a line per status change. Where widgets cannot render
(nbval, a terminal), the view shows as text: text_view(snapshot).

An action whose latest run belongs to an older execution than the pipeline's latest one
(a stage the latest execution has not reached, say after a stop) is drawn muted, with
"from an older execution <id>", as GetPipelineState keeps every stage's last result.
Widgets the view replaces (the pipeline changed shape) or leaves (close) are closed with
all their parts, so a page reopened while the kernel runs finds every widget whole.
Offline, runs take well under a second: lab.pace(1) makes each step last a second, to
watch a run move stage by stage.

Only boto3 calls, so the view works the same against the local AWS and a real account.
The build log and deployment events come from CodeBuild, CloudWatch Logs and CodeDeploy
clients made from `session` (default: boto3's default credentials, which lab.setup sets)
with the pipeline client's region and, on a local AWS, its endpoint.
Every part has CSS classes (lab-pipeline, lab-stage, lab-action, lab-status-<status>,
lab-name-<action name>...) for styling and for browser tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import ipywidgets as widgets

from . import polling
from .aws import Client
from .codepipeline import FINAL_STATUSES, approve, pipeline_snapshot

if TYPE_CHECKING:
    import boto3

# Status class -> (background, border) colours.
COLOURS = {
    "inprogress": ("#e3f0fb", "#0972d3"),  # blue
    "succeeded": ("#e9f5e9", "#1d8102"),  # green
    "failed": ("#fdeceb", "#d13212"),  # red
    "stopped": ("#ececec", "#7d8998"),  # grey
    "stopping": ("#ececec", "#7d8998"),
    "abandoned": ("#ececec", "#7d8998"),
    "superseded": ("#ececec", "#7d8998"),
    "cancelled": ("#ececec", "#7d8998"),
    "notrun": ("#f7f7f7", "#d5dbdb"),  # light grey
    "waiting": ("#fff3dc", "#ff9900"),  # amber: an approval waiting for an answer
}
RUNNING = ("InProgress", "Stopping")
LOG_LINES = 30
IDLE_POLL_SECONDS = 2.0  # a real account, no execution running: poll less often

STYLE = (
    "<style>\n.lab-pipeline { font-family: sans-serif; font-size: 13px; }\n"
    + "".join(
        f".lab-pipeline .lab-status-{name}.lab-action, .lab-pipeline .lab-status-{name} "
        f".lab-stage-title {{ background: {bg}; border-color: {border} !important; }}\n"
        for name, (bg, border) in COLOURS.items()
    )
    + """
.lab-pipeline .lab-stage { border: 1px solid #d5dbdb; border-radius: 6px; padding: 4px;
  margin: 2px; min-width: 220px; background: #fafafa; }
.lab-pipeline .lab-stage-title { border-left: 4px solid #d5dbdb; padding: 2px 6px;
  border-radius: 3px; }
.lab-pipeline .lab-action { border: 1px solid #d5dbdb; border-left-width: 6px;
  border-radius: 4px; padding: 4px 6px; margin: 4px 2px; }
.lab-pipeline .lab-status-notrun .lab-action-text { color: #687078; }
.lab-pipeline .lab-arrow { font-size: 22px; color: #687078; align-self: center;
  padding: 0 4px; }
.lab-pipeline .lab-stage-unit { margin-bottom: 4px; }
.lab-pipeline .lab-older.lab-action { opacity: 0.65; border-style: dashed !important;
  border-left-style: solid !important; }
.lab-pipeline .lab-older .lab-stage-title { opacity: 0.65; }
.lab-pipeline .lab-older-note { color: #687078; font-style: italic; }
.lab-pipeline .lab-toolbar { gap: 4px; }
.lab-pipeline .lab-toolbar .jupyter-button, .lab-pipeline .lab-approval .jupyter-button {
  overflow: visible; text-overflow: clip; }
.lab-pipeline pre { font-size: 11px; max-height: 36em; overflow: auto; margin: 0; }
.lab-pipeline .widget-html-content { line-height: 1.5; }
.lab-pipeline .lab-header { padding: 2px 4px; }
.lab-pipeline .lab-header code { word-break: break-all; }
.lab-pipeline .lab-row .lab-stage { width: 250px; }
.lab-pipeline .lab-action-text code { word-break: break-all; }
</style>"""
)


def status_class(status: str | None, waiting_for_approval: bool = False) -> str:
    """The CSS class for a status: lab-status-succeeded, ... lab-status-notrun."""
    if waiting_for_approval:
        return "lab-status-waiting"
    return "lab-status-" + (status or "NotRun").lower()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def _shape(pipeline: dict) -> tuple:
    """Stage and action names, of a declaration or a snapshot."""
    return tuple((s["name"], tuple(a["name"] for a in s["actions"])) for s in pipeline["stages"])


def _not_found(error: Exception | None) -> bool:
    code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return code == "PipelineNotFoundException"


def _short(revision: str | None) -> str:
    return (revision or "")[:8]


def _commit_message(summary: str | None) -> str:
    """A source revision summary: a commit message, or JSON with one (GitHub, real AWS)."""
    if not summary:
        return ""
    try:
        data = json.loads(summary)
    except ValueError:
        return summary.strip().splitlines()[0] if summary.strip() else ""
    if isinstance(data, dict):
        return str(data.get("CommitMessage", summary)).strip().splitlines()[0]
    return summary


def is_local(client: Client) -> bool:
    """True when client talks to a local AWS (an endpoint that is not amazonaws.com)."""
    host = urlparse(client.meta.endpoint_url or "").hostname or ""
    return not (host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"))


def view_snapshot(
    client: Client, name: str, declaration: dict | None = None, cache: dict | None = None
) -> dict:
    """pipeline_snapshot plus what the view shows: the latest execution's status and
    source revision message, each action's provider (from the declaration), and what
    belongs to an older execution (mark_older; cache: see there)."""
    snapshot = pipeline_snapshot(client, name)
    snapshot.update(execution_status=None, execution_summary=None, source_summary=None)
    if snapshot["latest_execution_id"]:
        execution = client.get_pipeline_execution(
            pipelineName=name, pipelineExecutionId=snapshot["latest_execution_id"]
        )["pipelineExecution"]
        snapshot["execution_status"] = execution["status"]
        snapshot["execution_summary"] = execution.get("statusSummary")
        revisions = execution.get("artifactRevisions") or []
        if revisions:
            snapshot["source_revision"] = revisions[0].get("revisionId")
            snapshot["source_summary"] = _commit_message(revisions[0].get("revisionSummary"))
    providers = {}
    for stage in (declaration or {}).get("stages", []):
        for action in stage["actions"]:
            providers[(stage["name"], action["name"])] = action["actionTypeId"]
    for stage in snapshot["stages"]:
        for action in stage["actions"]:
            type_id = providers.get((stage["name"], action["name"])) or {}
            action["category"] = type_id.get("category")
            action["provider"] = type_id.get("provider")
            action["owner"] = type_id.get("owner")
            action["version"] = type_id.get("version")
    mark_older(client, snapshot, cache)
    return snapshot


def mark_older(client: Client, snapshot: dict, cache: dict | None = None) -> None:
    """Mark the stages and actions whose result GetPipelineState keeps from an execution
    older than the latest one: stage["older"], action["older"] (True or False) and
    action["older_execution_id"] (the older execution's id, when known).

    A stage the latest execution has not reached (stopped before it, failed before it)
    still shows its last run: older. In a stage the latest execution reached, an action it
    has not run (yet, or at all: an earlier action failed) is older too; the actions it ran
    come from ListActionExecutions filtered on it, read once per poll while it runs (cache:
    a dict the caller keeps, to read an ended execution's only once). A stage or action
    still running is never marked (in QUEUED or PARALLEL mode older executions run on).
    """
    latest = snapshot.get("latest_execution_id")
    ran_in_latest: set | None = None
    for stage in snapshot["stages"]:
        stage_execution = stage.get("execution_id")
        stage["older"] = bool(
            latest
            and stage_execution
            and stage_execution != latest
            and stage.get("status") not in RUNNING
        )
        for action in stage["actions"]:
            action["older"], action["older_execution_id"] = False, None
            if not action.get("status") or action["status"] in RUNNING:
                continue
            if stage["older"]:
                action["older"], action["older_execution_id"] = True, stage_execution
            elif latest and stage_execution == latest:
                if ran_in_latest is None:
                    ran_in_latest = _actions_run_by(client, snapshot, cache)
                if ran_in_latest is not None and (stage["name"], action["name"]) not in (
                    ran_in_latest
                ):
                    action["older"] = True


def _actions_run_by(client: Client, snapshot: dict, cache: dict | None) -> set | None:
    """(stage, action) names the latest execution has run, or None when unreadable."""
    latest = snapshot["latest_execution_id"]
    if cache is not None and latest in cache:
        return cache[latest]
    ran = set()
    try:
        kwargs = {"pipelineName": snapshot["name"], "filter": {"pipelineExecutionId": latest}}
        while True:
            page = client.list_action_executions(**kwargs)
            for detail in page.get("actionExecutionDetails", []):
                ran.add((detail.get("stageName"), detail.get("actionName")))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except Exception:  # no permission to list: only whole stages are marked
        return None
    if cache is not None and snapshot.get("execution_status") in FINAL_STATUSES:
        cache.clear()  # only the latest execution's is worth keeping
        cache[latest] = ran
    return ran


def older_note(action: dict) -> str:
    """'from an older execution <id>' for an action marked older, else ''."""
    if not action.get("older"):
        return ""
    execution = action.get("older_execution_id")
    return "from an older execution" + (f" {_short(execution)}" if execution else "")


# -- text ---------------------------------------------------------------------------------


def text_view(snapshot: dict) -> str:
    """The pipeline as text: stages top to bottom, each action with its status."""
    lines = [f"Pipeline {snapshot['name']} (version {snapshot.get('version')})"]
    execution = snapshot.get("latest_execution_id")
    if execution:
        status = snapshot.get("execution_status")
        lines.append(f"Execution {execution}" + (f": {status}" if status else ""))
    if snapshot.get("source_revision"):
        message = snapshot.get("source_summary")
        lines.append(
            f"Source {_short(snapshot['source_revision'])}" + (f" {message!r}" if message else "")
        )
    width = max([len(a["name"]) for s in snapshot["stages"] for a in s["actions"]] + [6])
    for index, stage in enumerate(snapshot["stages"]):
        lines.append("      |\n      v" if index else "")
        lines.append(f"[{stage['name']}] {stage['status'] or 'not run'}")
        for action in stage["actions"]:
            status = (
                "Waiting for approval"
                if action["waiting_for_approval"]
                else (action["status"] or "not run")
            )
            detail = action.get("external_id") or ""
            if detail and detail == snapshot.get("source_revision"):
                detail = _short(detail)
            if action.get("summary"):
                detail = f"{detail} {action['summary']}".strip()
            if action.get("error"):
                detail = f"{detail} - {action['error']}".strip()
            if older_note(action):
                detail = f"{detail} ({older_note(action)})".strip()
            lines.append(f"  {action['name']:<{width}}  {status:<12}  {detail}".rstrip())
    return "\n".join(lines)


def _progress_lines(
    snapshot: dict, seen: dict, execution_id: str | None = None, status: str | None = None
) -> list[str]:
    """Lines for what changed since seen (updated): the execution, and the actions of the
    stages it has reached (GetPipelineState keeps other executions' results too)."""
    execution_id = execution_id or snapshot.get("latest_execution_id")
    status = status or snapshot.get("execution_status")
    lines = []
    changes = [("execution", execution_id, status)]
    for stage in snapshot["stages"]:
        if stage.get("execution_id") != execution_id:
            continue
        for action in stage["actions"]:
            status = "Waiting for approval" if action["waiting_for_approval"] else action["status"]
            changes.append((f"{stage['name']}/{action['name']}", action.get("external_id"), status))
    for key, detail, status in changes:
        if status and seen.get(key) != (detail, status):
            seen[key] = (detail, status)
            if key == "execution":
                lines.append(f"Execution {detail}: {status}")
            else:
                lines.append(f"  {key}: {status}" + (f" ({detail})" if detail else ""))
    return lines


# -- the widget -----------------------------------------------------------------------------


def panel_kind(action: dict) -> str | None:
    """The detail panel of an action (build-log, deployment-events, action-log,
    stack-events), as its provider's entry in the kit's provider registry says; imported
    on first use (it loads moto)."""
    from .emulator.codepipeline.action_types import panel_kind as registered_panel

    return registered_panel(
        action.get("category"),
        action.get("provider"),
        action.get("owner") or "AWS",
        action.get("version") or "1",
    )


@dataclass
class Reading:
    """What one read of the pipeline found, before it is drawn."""

    snapshot: dict | None = None  # None when the read failed
    error: Exception | None = None
    panels: dict[tuple[str, str], str] = field(default_factory=dict)  # new panel bodies


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the thread running this code when it is ipykernel's (a cell runs
    inside it), or None (a script, a test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _button(
    description: str, css_class: str, on_click, hidden: bool = False, **options
) -> widgets.Button:
    # Width from the text, never shrunk by a crowded row (flex 0 0 auto): no "Foll…".
    button = widgets.Button(
        description=description,
        **options,
        layout=widgets.Layout(
            width="auto",
            min_width="max-content",
            flex="0 0 auto",
            display="none" if hidden else None,
        ),
    )
    button.add_class(css_class)
    button.on_click(lambda _: on_click())
    return button


def _close_all(widget: widgets.Widget) -> None:
    """Close a widget and every widget it holds (children, layout, style): a widget left
    open that holds a closed one breaks the state a reopened page asks the kernel for
    (ipywidgets' request_states: 'NoneType' object has no attribute 'comm_id')."""
    parts = [widget]
    while parts:
        part = parts.pop()
        for name in ("children", "layout", "style"):
            value = getattr(part, name, None) if part.has_trait(name) else None
            held = value if isinstance(value, (list, tuple)) else [value]
            parts.extend(w for w in held if isinstance(w, widgets.Widget))
        widgets.Widget.close(part)


def _toggle_class(widget: widgets.DOMWidget, name: str, on: bool) -> None:
    if on and name not in widget._dom_classes:
        widget.add_class(name)
    elif not on and name in widget._dom_classes:
        widget.remove_class(name)


class ActionBox(widgets.VBox):
    """One action: name, status, summary and link; Approve / Reject on a waiting approval."""

    def __init__(self, view: PipelineView, stage: str, name: str) -> None:
        self.view, self.stage_name, self.action_name = view, stage, name
        self.text = widgets.HTML()
        self.text.add_class("lab-action-text")
        self.comment = widgets.Text(
            placeholder="Comment (summary)", layout=widgets.Layout(width="95%")
        )
        self.comment.add_class("lab-approval-summary")
        self.approve_button = _button(
            "Approve", "lab-approve-button", lambda: self.answer("Approved"), button_style="success"
        )
        self.reject_button = _button(
            "Reject", "lab-reject-button", lambda: self.answer("Rejected"), button_style="danger"
        )
        self.approval = widgets.VBox(
            [self.comment, widgets.HBox([self.approve_button, self.reject_button])],
            layout=widgets.Layout(display="none"),
        )
        self.approval.add_class("lab-approval")
        self.status_class = "lab-status-notrun"
        super().__init__([self.text, self.approval])
        self.add_class("lab-action")
        self.add_class(f"lab-name-{_slug(name)}")
        self.add_class(self.status_class)

    def answer(self, status: str) -> None:
        """Approve or reject (the buttons): PutApprovalResult with the comment as summary."""
        summary = self.comment.value or f"{status} from the pipeline view"
        self.comment.value = ""
        self.view._act(
            lambda: approve(
                self.view.client,
                self.view.pipeline_name,
                self.stage_name,
                self.action_name,
                summary,
                status=status,
            ),
            self.action_name,
        )

    def update(self, action: dict) -> None:
        new = status_class(action["status"], action["waiting_for_approval"])
        if new != self.status_class:
            self.remove_class(self.status_class)
            self.add_class(new)
            self.status_class = new
        _toggle_class(self, "lab-older", bool(action.get("older")))
        status = (
            "Waiting for approval"
            if action["waiting_for_approval"]
            else (action["status"] or "Didn't run")
        )
        provider = html.escape(action.get("provider") or "")
        parts = [
            f"<b>{html.escape(self.action_name)}</b> <small>{provider}</small>",
            f"<span class='lab-action-status'>{html.escape(status)}</span>",
        ]
        external = action.get("external_id")
        if external:
            label = _short(external) if action.get("category") == "Source" else external
            if action.get("url") and not self.view.local:
                parts.append(
                    f"<a href='{html.escape(action['url'])}' target='_blank'>"
                    f"{html.escape(label)}</a>"
                )
            else:
                parts.append(f"<code>{html.escape(label)}</code>")
        if action.get("summary"):
            parts.append(f"<i>{html.escape(action['summary'])}</i>")
        if action.get("error"):
            parts.append(f"<span style='color:#d13212'>{html.escape(action['error'])}</span>")
        if older_note(action):
            parts.append(f"<span class='lab-older-note'>{html.escape(older_note(action))}</span>")
        self.text.value = "<br>".join(parts)
        self.approval.layout.display = "flex" if action["waiting_for_approval"] else "none"


class PipelineView(widgets.VBox):
    """A live drawing of one pipeline; see the module's docstring."""

    def __init__(
        self,
        client: Client,
        pipeline_name: str,
        poll_seconds: float = 0.5,
        vertical: bool = False,
        idle_seconds: float = 300,
        session: boto3.Session | None = None,
    ) -> None:
        self.client, self.pipeline_name, self.session = client, pipeline_name, session
        self.poll_seconds, self.idle_seconds, self.vertical = poll_seconds, idle_seconds, vertical
        self.local = is_local(client)
        self.snapshot: dict | None = None
        self.error: Exception | None = None  # of the last refresh, if it failed
        self._declaration: dict | None = None
        self._actions: dict[tuple[str, str], ActionBox] = {}
        self._stages: dict[str, widgets.VBox] = {}
        self._panels: dict[tuple[str, str], widgets.HTML] = {}  # build log, deployment events
        self._panel_keys: dict[tuple[str, str], tuple] = {}  # what each panel last read
        self._stage_classes: dict[str, str] = {}  # each stage box's lab-status-* class
        self._shape: tuple | None = None  # the stages and actions drawn
        self._kernel_loop = _kernel_loop()  # where widgets are changed (None: anywhere)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clients: dict = {}
        self._older_cache: dict = {}  # see mark_older
        self._closed = False
        self.header = widgets.HTML()
        self.header.add_class("lab-header")
        self.message = widgets.HTML()
        self.message.add_class("lab-message")
        self.follow_button = _button(
            "Follow",
            "lab-follow-button",
            self.start,
            icon="refresh",
            tooltip="Refresh now and follow executions",
        )
        self.stop_button = _button(
            "Stop",
            "lab-stop-button",
            self.stop_execution,
            hidden=True,
            button_style="warning",  # no icon: the "stop" glyph sits above the text, cut
            tooltip="Stop the execution; running actions finish (StopPipelineExecution)",
        )
        self.abandon_button = _button(
            "Abandon",
            "lab-abandon-button",
            lambda: self.stop_execution(abandon=True),
            hidden=True,
            icon="times",
            button_style="danger",
            tooltip="Stop now, abandoning the actions still running",
        )
        self._retry_buttons: dict[str, widgets.Button] = {}
        self.stages_box = (widgets.VBox if vertical else widgets.HBox)(
            layout=widgets.Layout(
                flex_flow="column" if vertical else "row wrap",
                align_items="stretch" if vertical else "flex-start",
            )
        )
        self.stages_box.add_class("lab-stages")
        self.stages_box.add_class("lab-column" if vertical else "lab-row")
        self.details = widgets.Accordion()
        self.details.add_class("lab-details")
        # The header takes what room is left and wraps; the buttons keep their width.
        self.header.layout = widgets.Layout(flex="1 1 20em", min_width="0")
        self.toolbar = widgets.HBox(
            [self.header, self.follow_button, self.stop_button, self.abandon_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.toolbar.add_class("lab-toolbar")
        super().__init__(
            [
                widgets.HTML(STYLE),
                self.toolbar,
                self.stages_box,
                self.details,
                self.message,
            ]
        )
        self.add_class("lab-pipeline")
        self.refresh()

    # -- reading ------------------------------------------------------------------------
    def refresh(self) -> dict:
        """Read the pipeline's state once and redraw; return the snapshot."""
        with self._lock:
            self._show(self._read())
            return self.snapshot or {}

    def _read(self) -> Reading:
        """The pipeline's state, and the panels with something new to show: calls only."""
        with self._lock:
            try:
                declaration = self._get_declaration()
                snapshot = view_snapshot(
                    self.client, self.pipeline_name, declaration, self._older_cache
                )
                if snapshot["version"] != declaration.get("version") or _shape(snapshot) != _shape(
                    declaration
                ):
                    self._declaration = None  # the pipeline changed: read it again
                    snapshot = view_snapshot(
                        self.client,
                        self.pipeline_name,
                        self._get_declaration(),
                        self._older_cache,
                    )
            except Exception as error:  # deleted pipeline, network, expired credentials
                return Reading(error=error)
            if _shape(snapshot) != self._shape:
                self._panel_keys.clear()  # new panels: read them all
            reading = Reading(snapshot)
            for stage in snapshot["stages"]:
                for action in stage["actions"]:
                    body = self._panel_body(stage["name"], action)
                    if body is not None:
                        reading.panels[(stage["name"], action["name"])] = body
            return reading

    def _show(self, reading: Reading) -> None:
        """Draw a reading: widgets change here only (on the kernel's thread when polling)."""
        with self._lock:
            if self._closed:  # a reading that arrived after close(): nothing to draw on
                return
            if reading.snapshot is None:
                self.error = reading.error
                self.message.value = (
                    f"<span style='color:#d13212'>{html.escape(str(reading.error))}</span>"
                )
                return
            if _shape(reading.snapshot) != self._shape:
                self._build(reading.snapshot)
            self._draw(reading.snapshot)
            for key, body in reading.panels.items():
                self._panels[key].value = body
            if self.error is not None:  # the error is over
                self.error, self.message.value = None, ""
            self.snapshot = reading.snapshot

    def _get_declaration(self) -> dict:
        if self._declaration is None:
            self._declaration = self.client.get_pipeline(name=self.pipeline_name)["pipeline"]
        return self._declaration

    def _draw(self, snapshot: dict) -> None:
        execution = snapshot.get("latest_execution_id")
        status = snapshot.get("execution_status")
        parts = [f"<b>Pipeline {html.escape(snapshot['name'])}</b>"]
        if execution:
            parts.append(
                f"<span class='lab-execution {status_class(status)}'>Execution "
                f"<code>{html.escape(execution)}</code>: "
                f"<b class='lab-execution-status'>{html.escape(status or '')}</b></span>"
            )
        else:
            parts.append("No execution yet")
        self.stop_button.layout.display = "flex" if status == "InProgress" else "none"
        self.abandon_button.layout.display = "flex" if status == "Stopping" else "none"
        if snapshot.get("source_revision"):
            parts.append(
                f"<span class='lab-source-revision'>Source <code>"
                f"{html.escape(_short(snapshot['source_revision']))}</code> "
                f"{html.escape(snapshot.get('source_summary') or '')}</span>"
            )
        self.header.value = " &nbsp;|&nbsp; ".join(parts)
        for stage in snapshot["stages"]:
            box = self._stages[stage["name"]]
            title = box.children[0]
            new, old = status_class(stage["status"]), self._stage_classes.get(stage["name"])
            if new != old:
                if old:
                    box.remove_class(old)
                box.add_class(new)
                self._stage_classes[stage["name"]] = new
            _toggle_class(box, "lab-older", stage.get("older", False))
            status = html.escape(stage["status"] or "Didn't run")
            title.value = (
                f"<b>{html.escape(stage['name'])}</b> "
                f"<span class='lab-stage-status'>{status}</span>"
            )
            failed = stage["status"] == "Failed"
            self._retry_buttons[stage["name"]].layout.display = "flex" if failed else "none"
            for action in stage["actions"]:
                self._actions[(stage["name"], action["name"])].update(action)

    def _panel_body(self, stage: str, action: dict) -> str | None:
        """The build log or deployment events of an action that has a panel, or None when
        there is nothing new to read."""
        key, external = (stage, action["name"]), action.get("external_id")
        kind = panel_kind(action)
        if (
            kind is None
            or not external
            or self._panel_keys.get(key) == (external, action["status"])
            and action["status"] not in RUNNING
        ):
            return None
        self._panel_keys[key] = (external, action["status"])
        try:
            if kind == "build-log":
                return self.build_log(external)
            if kind == "action-log":
                return self.action_log(stage, action["name"], external)
            if kind == "stack-events":
                return self.stack_events(external)
            return self.deployment_events(external)
        except Exception as error:  # the build or deployment is not readable (yet)
            return f"<i>{html.escape(str(error))}</i>"

    def _build(self, snapshot: dict) -> None:
        """Make the stage boxes (each with the arrow leading into it: a wrapped row starts
        with an arrow and its stage, never a lone arrow) and the detail panels; close the
        ones they replace."""
        replaced = [*self.stages_box.children, *self.details.children]
        self._actions.clear()
        self._stages.clear()
        self._retry_buttons.clear()
        self._panels.clear()
        self._stage_classes.clear()
        self._shape = _shape(snapshot)
        children, panels, titles = [], [], []
        for index, stage in enumerate(snapshot["stages"]):
            title = widgets.HTML()
            title.add_class("lab-stage-title")
            boxes = []
            for action in stage["actions"]:
                box = ActionBox(self, stage["name"], action["name"])
                self._actions[(stage["name"], action["name"])] = box
                boxes.append(box)
                kind = panel_kind(action)
                if kind:
                    panel = widgets.HTML("<i>Not run yet</i>")
                    panel.add_class(f"lab-{kind}")
                    panel.add_class(f"lab-name-{_slug(action['name'])}")
                    self._panels[(stage["name"], action["name"])] = panel
                    panels.append(panel)
                    titles.append(
                        f"{kind.replace('-', ' ').capitalize()}: {stage['name']} / {action['name']}"
                    )
            retry = _button(
                "Retry",
                "lab-retry-button",
                lambda name=stage["name"]: self.retry_stage(name),
                hidden=True,
                icon="redo",
                button_style="info",
                tooltip="Retry the failed actions of this stage (RetryStageExecution)",
            )
            self._retry_buttons[stage["name"]] = retry
            stage_box = widgets.VBox([title, *boxes, retry])
            stage_box.add_class("lab-stage")
            stage_box.add_class(f"lab-name-{_slug(stage['name'])}")
            self._stages[stage["name"]] = stage_box
            unit = [stage_box]
            if index:
                arrow = widgets.HTML("&darr;" if self.vertical else "&rarr;")
                arrow.add_class("lab-arrow")
                unit.insert(0, arrow)
            stage_unit = (widgets.VBox if self.vertical else widgets.HBox)(unit)
            stage_unit.add_class("lab-stage-unit")
            children.append(stage_unit)
        self.stages_box.children = children
        self.details.children = panels
        self.details.titles = titles
        self.details.layout.display = "flex" if panels else "none"
        for widget in replaced:  # nothing open holds them any more
            _close_all(widget)

    def _sibling(self, service: str):
        """A client for another service, from `session`, with this client's region and (on
        a local AWS) endpoint."""
        if service not in self._clients:
            import boto3

            session = self.session or boto3.Session()
            kwargs = {"region_name": self.client.meta.region_name}
            if self.local:
                kwargs["endpoint_url"] = self.client.meta.endpoint_url
            self._clients[service] = session.client(service, **kwargs)
        return self._clients[service]

    def build_log(self, build_id: str) -> str:
        """HTML: the tail of the build's log (local AWS) or a link to it (real account)."""
        [build] = self._sibling("codebuild").batch_get_builds(ids=[build_id])["builds"]
        logs = build.get("logs") or {}
        head = (
            f"Build <code>{html.escape(build_id)}</code>: {html.escape(build['buildStatus'])}"
            f" ({html.escape(build.get('currentPhase', ''))})"
        )
        if not self.local:
            link = logs.get("deepLink")
            return head + (
                f"<br><a href='{html.escape(link)}' target='_blank'>Open the log in "
                "CloudWatch Logs</a>"
                if link
                else ""
            )
        if not logs.get("groupName") or not logs.get("streamName"):
            return head
        try:
            events = self._sibling("logs").get_log_events(
                logGroupName=logs["groupName"],
                logStreamName=logs["streamName"],
                startFromHead=False,
                limit=LOG_LINES,
            )["events"]
        except Exception:  # the stream appears once the build is provisioned
            events = []
        text = "\n".join(e["message"].rstrip("\n") for e in events)
        return (
            f"{head}<br><small>{html.escape(logs['groupName'])} / "
            f"{html.escape(logs['streamName'])}</small><pre>{html.escape(text)}</pre>"
        )

    def deployment_events(self, deployment_id: str) -> str:
        """HTML: the deployment's status and each instance's lifecycle event statuses (for a
        Lambda deployment: the alias' traffic shift and the hooks)."""
        codedeploy = self._sibling("codedeploy")
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        rows = [
            f"Deployment <code>{html.escape(deployment_id)}</code>: {html.escape(info['status'])}"
        ]
        if info.get("computePlatform") == "Lambda":
            return "<br>".join(rows + self._lambda_targets(codedeploy, deployment_id))
        instances = codedeploy.list_deployment_instances(deploymentId=deployment_id)[
            "instancesList"
        ]
        if instances:
            summaries = codedeploy.batch_get_deployment_instances(
                deploymentId=deployment_id, instanceIds=instances[:25]
            )["instancesSummary"]
            for summary in summaries:
                instance = summary["instanceId"].rsplit("/", 1)[-1]
                events = ", ".join(
                    f"{e['lifecycleEventName']} {e.get('status', '')}"
                    for e in summary.get("lifecycleEvents", [])
                )
                rows.append(
                    f"<code>{html.escape(instance)}</code> "
                    f"{html.escape(summary['status'])}: "
                    f"<small>{html.escape(events)}</small>"
                )
        return "<br>".join(rows)

    def _lambda_targets(self, codedeploy, deployment_id: str) -> list[str]:
        """One row per function: versions, the target version's share of the alias' traffic
        and the hooks' statuses (ListDeploymentTargets: Lambda deployments have no
        instances)."""
        ids = codedeploy.list_deployment_targets(deploymentId=deployment_id)["targetIds"]
        if not ids:
            return []
        targets = codedeploy.batch_get_deployment_targets(
            deploymentId=deployment_id, targetIds=ids[:25]
        )["deploymentTargets"]
        rows = []
        for target in targets:
            found = target.get("lambdaTarget") or {}
            function = found.get("lambdaFunctionInfo") or {}
            weight = function.get("targetVersionWeight")
            # a percentage (LambdaFunctionInfo.targetVersionWeight)
            share = f", {weight:g}% of traffic on the target" if weight is not None else ""
            events = ", ".join(
                f"{e['lifecycleEventName']} {e.get('status', '')}"
                for e in found.get("lifecycleEvents", [])
            )
            rows.append(
                f"<code>{html.escape(function.get('functionName') or found.get('targetId', ''))}"
                f"</code> {html.escape(function.get('functionAlias') or '')}: version "
                f"{html.escape(str(function.get('currentVersion') or '?'))} &rarr; "
                f"{html.escape(str(function.get('targetVersion') or '?'))}{share}; "
                f"<small>{html.escape(events)}</small>"
            )
        return rows

    def action_log(self, stage: str, action_name: str, external_id: str) -> str:
        """HTML: the tail of an action's own log in CloudWatch Logs: the Commands action's
        (its execution result's logStreamARN) or a Lambda invoke action's function log."""
        head = f"{html.escape(action_name)}: <code>{html.escape(external_id)}</code>"
        execution = self._action_execution(stage, action_name, external_id)
        if execution is None:
            return head
        result = (execution.get("output") or {}).get("executionResult") or {}
        group = stream = ""
        if result.get("logStreamARN"):
            # arn:aws:logs:region:account:log-group:GROUP:log-stream:STREAM
            _, _, rest = result["logStreamARN"].partition(":log-group:")
            group, _, stream = rest.partition(":log-stream:")
        elif execution.get("input", {}).get("actionTypeId", {}).get("provider") == "Lambda":
            function = execution["input"].get("configuration", {}).get("FunctionName", "")
            group = f"/aws/lambda/{function.split(':')[-1]}"
        if not group:
            return head
        if not self.local:
            return f"{head}<br><small>Log group {html.escape(group)} in CloudWatch Logs</small>"
        logs = self._sibling("logs")
        try:
            if not stream:
                streams = logs.describe_log_streams(
                    logGroupName=group, orderBy="LastEventTime", descending=True, limit=1
                )["logStreams"]
                stream = streams[0]["logStreamName"] if streams else ""
            events = (
                logs.get_log_events(
                    logGroupName=group, logStreamName=stream, startFromHead=False, limit=LOG_LINES
                )["events"]
                if stream
                else []
            )
        except Exception:  # the log appears once the action has written to it
            events = []
        text = "\n".join(e["message"].rstrip("\n") for e in events)
        return (
            f"{head}<br><small>{html.escape(group)} / {html.escape(stream)}</small>"
            f"<pre>{html.escape(text)}</pre>"
        )

    def _action_execution(self, stage: str, action_name: str, external_id: str) -> dict | None:
        """The latest execution of the action with this external id (ListActionExecutions
        lists the newest first)."""
        pages = self.client.get_paginator("list_action_executions").paginate(
            pipelineName=self.pipeline_name, PaginationConfig={"MaxItems": 100}
        )
        for page in pages:
            for execution in page.get("actionExecutionDetails", []):
                if (
                    execution.get("stageName") == stage
                    and execution.get("actionName") == action_name
                    and (execution.get("output") or {})
                    .get("executionResult", {})
                    .get("externalExecutionId")
                    == external_id
                ):
                    return execution
        return None

    def stack_events(self, stack_or_change_set: str) -> str:
        """HTML: a CloudFormation action's stack status and latest events, or its change
        set's status and changes (CHANGE_SET_REPLACE)."""
        cloudformation = self._sibling("cloudformation")
        if ":changeSet/" in stack_or_change_set:
            change_set = cloudformation.describe_change_set(ChangeSetName=stack_or_change_set)
            rows = [
                f"Change set <code>{html.escape(change_set['ChangeSetName'])}</code> of "
                f"<code>{html.escape(change_set['StackName'])}</code>: "
                f"{html.escape(change_set['Status'])}"
            ]
            for change in change_set.get("Changes", [])[:LOG_LINES]:
                resource = change.get("ResourceChange") or {}
                rows.append(
                    f"{html.escape(resource.get('Action', ''))} "
                    f"<code>{html.escape(resource.get('LogicalResourceId', ''))}</code> "
                    f"<small>{html.escape(resource.get('ResourceType', ''))}</small>"
                )
            return "<br>".join(rows)
        [stack] = cloudformation.describe_stacks(StackName=stack_or_change_set)["Stacks"]
        rows = [
            f"Stack <code>{html.escape(stack['StackName'])}</code>: "
            f"{html.escape(stack['StackStatus'])}"
        ]
        events = cloudformation.describe_stack_events(StackName=stack_or_change_set)["StackEvents"]
        for event in events[:LOG_LINES]:
            reason = event.get("ResourceStatusReason")
            rows.append(
                f"<code>{html.escape(event.get('LogicalResourceId', ''))}</code> "
                f"{html.escape(event.get('ResourceStatus', ''))}"
                + (f" <small>{html.escape(reason)}</small>" if reason else "")
            )
        return "<br>".join(rows)

    # -- acting -------------------------------------------------------------------------
    def stop_execution(
        self, abandon: bool = False, reason: str = "Stopped from the pipeline view"
    ) -> None:
        """Stop the latest execution (abandon=True: without waiting for running actions)."""
        execution = (self.snapshot or {}).get("latest_execution_id")
        self._act(
            lambda: self.client.stop_pipeline_execution(
                pipelineName=self.pipeline_name,
                pipelineExecutionId=execution,
                abandon=abandon,
                reason=reason,
            ),
            "Stop",
        )

    def retry_stage(self, stage: str, mode: str = "FAILED_ACTIONS") -> None:
        """Retry a failed stage of the execution that last ran it (mode ALL_ACTIONS: all)."""
        execution = next(
            (
                s["execution_id"]
                for s in (self.snapshot or {}).get("stages", [])
                if s["name"] == stage
            ),
            None,
        )
        self._act(
            lambda: self.client.retry_stage_execution(
                pipelineName=self.pipeline_name,
                stageName=stage,
                pipelineExecutionId=execution,
                retryMode=mode,
            ),
            f"Retry {stage}",
        )

    def _act(self, call, what: str) -> None:
        """Call AWS for a button; what the call prints or raises (an approval answered
        already, not stoppable any more, no permission...) shows in the view's message line,
        not in JupyterLab's log console."""
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                call()
        except Exception as error:
            self.message.value = f"<b>{html.escape(what)}</b>: {html.escape(str(error))}"
        else:
            said = printed.getvalue().strip()
            self.message.value = f"<b>{html.escape(what)}</b>: {html.escape(said)}" if said else ""
        self.start()  # refresh now and follow what the action set going

    # -- following ------------------------------------------------------------------------
    def running(self) -> bool:
        """True when the latest execution has not ended."""
        return bool(self.snapshot and self.snapshot.get("execution_status") in RUNNING)

    def start(self) -> None:
        """Poll in a background thread until no execution has run for idle_seconds."""
        self.refresh()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._poll, name=f"view-{self.pipeline_name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop following: end the background thread (if any) and wait for it. Quiet, and
        safe to call again; the view keeps its last drawing on the page (the end of a lab),
        and Follow (or displaying it again) starts following again."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        self._thread = None

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _poll(self) -> None:
        idle_since, running = time.monotonic(), self.running()
        while not self._stop.wait(self._interval(running)):
            reading = self._read()
            self._on_kernel_thread(self._show, reading)
            if _not_found(reading.error):
                break  # deleted: nothing more to show
            if reading.snapshot is not None:
                running = reading.snapshot.get("execution_status") in RUNNING
            if running:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > self.idle_seconds:
                break

    def _on_kernel_thread(self, draw: Callable[[Reading], None], reading: Reading) -> None:
        """Draw on the kernel's thread, which serves the widgets' comms; without a kernel
        (or once its loop has closed), here."""
        loop = self._kernel_loop
        if loop is None:
            draw(reading)
            return
        try:
            loop.call_soon_threadsafe(draw, reading)
        except RuntimeError:  # the loop has closed: the kernel is shutting down
            pass

    def _interval(self, running: bool) -> float:
        if self.local or running:
            return self.poll_seconds
        return max(self.poll_seconds, IDLE_POLL_SECONDS)

    def follow(
        self,
        execution_id: str | None = None,
        timeout: float = 600,
        show: bool = True,
        stop_at_approval: bool = True,
    ) -> dict:
        """Refresh until the execution (default: the latest) ends; return its snapshot.

        Prints a line per status change when show. An approval can't be clicked while a
        cell runs, so with stop_at_approval this returns when the execution waits for
        one (approve it with the button, then follow() again). Raises TimeoutError.
        """
        deadline = time.monotonic() + timeout
        seen: dict = {}
        pause = polling.Pauses(self.poll_seconds)
        while True:
            snapshot = self.refresh()
            execution_id = execution_id or snapshot.get("latest_execution_id")
            if execution_id is None:
                return snapshot
            if execution_id == snapshot.get("latest_execution_id"):
                status = snapshot.get("execution_status")
            else:  # a newer execution started: read ours directly
                status = self.client.get_pipeline_execution(
                    pipelineName=self.pipeline_name, pipelineExecutionId=execution_id
                )["pipelineExecution"]["status"]
            if show:
                for line in _progress_lines(snapshot, seen, execution_id, status):
                    print(line)
            waiting = [
                f"{s['name']}/{a['name']}"
                for s in snapshot["stages"]
                if s["execution_id"] == execution_id
                for a in s["actions"]
                if a["waiting_for_approval"]
            ]
            if status in FINAL_STATUSES:
                return snapshot
            if waiting and stop_at_approval:
                if show:
                    print(
                        f"Waiting for approval: {', '.join(waiting)} (Approve in the view, "
                        "or with helpers.codepipeline.approve)"
                    )
                return snapshot
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Execution {execution_id} of {self.pipeline_name} is "
                    f"still {status} after {timeout:.0f} s"
                )
            pause.sleep()

    # -- display ------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if self.snapshot:
            data["text/plain"] = text_view(self.snapshot)
        self.start()  # displayed: follow executions
        return data

    def __repr__(self) -> str:
        return text_view(self.snapshot) if self.snapshot else f"PipelineView({self.pipeline_name})"

    def close(self) -> None:
        """Remove the view from the page: stop following and close every widget of it, so
        every output where the view was shown empties. To keep the last drawing (the end of
        a lab), call stop() instead."""
        self.stop()
        with self._lock:
            self._closed = True
            for child in self.children:
                _close_all(child)
            for layout in (self.layout,):
                widgets.Widget.close(layout)
            super().close()


def pipeline_view(
    client: Client,
    pipeline_name: str,
    poll_seconds: float = 0.5,
    vertical: bool = False,
    session: boto3.Session | None = None,
) -> PipelineView:
    """A live view of the pipeline (see the module's docstring)."""
    return PipelineView(
        client, pipeline_name, poll_seconds=poll_seconds, vertical=vertical, session=session
    )
