"""The pipeline view over a lab's life: stop() keeps the drawing, close() removes it whole,
a redrawn view leaves no widget a reopened page would choke on, results of an older
execution are marked as such, and lab.pace() makes runs move at a watchable pace."""

from __future__ import annotations

import sys

import ipywidgets as widgets
import pytest
from ipywidgets.widgets.widget import _instances

from helpers import lab as lab_module
from helpers import views
from helpers.codepipeline import approve
from helpers.emulator import workers
from tests.pipelines import approval_action, build_action, source_action


def classes(widget) -> set[str]:
    return set(widget._dom_classes)


def parts(widget) -> list[widgets.Widget]:
    """The widget and every widget under it (children only)."""
    found, todo = [], [widget]
    while todo:
        part = todo.pop()
        found.append(part)
        todo.extend(getattr(part, "children", ()))
    return found


def request_states() -> None:
    """What ipywidgets does when a page (re)opens while the kernel runs: every open widget's
    state, with the model ids of the widgets it holds (Widget._handle_control_comm_msg)."""
    for widget in list(_instances.values()):
        widget.get_state()


def approval_pipeline(lab) -> str:
    return lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Approval", "actions": [approval_action()]},
            {"name": "Build", "actions": [build_action()]},
        ]
    )


def test_stop_is_quiet_idempotent_and_keeps_the_drawing(lab, capsys):
    approval_pipeline(lab)
    view = views.PipelineView(lab.cp, "lab-pipeline", poll_seconds=0.01)
    view.stop()  # before following: nothing to stop
    view.start()
    assert view.polling
    view.stop()
    view.stop()
    assert not view.polling
    assert capsys.readouterr() == ("", "")
    # The drawing stays: every part of the view is still open, and Follow follows again.
    assert all(part.comm is not None for part in parts(view))
    assert "lab-status-waiting" in classes(view._actions[("Approval", "Approve")])
    view.follow_button.click()
    assert view.polling
    view.close()


def test_close_removes_the_view_with_every_part(lab):
    approval_pipeline(lab)
    view = views.PipelineView(lab.cp, "lab-pipeline")
    every = parts(view)
    view.close()
    view.close()  # again: nothing left to close
    assert all(part.comm is None for part in every)
    assert not any(part in _instances.values() for part in every)
    request_states()
    view.refresh()  # a late reading after close draws nothing and raises nothing


def test_a_pipeline_that_changes_shape_leaves_no_half_closed_widgets(lab):
    approval_pipeline(lab)
    view = views.PipelineView(lab.cp, "lab-pipeline")
    old = parts(view.stages_box)[1:] + parts(view.details)[1:]
    declaration = lab.cp.get_pipeline(name="lab-pipeline")["pipeline"]
    declaration["stages"].append(
        {"name": "Check", "actions": [approval_action("Look", CustomData="again")]}
    )
    lab.cp.update_pipeline(pipeline=declaration)
    view.refresh()
    assert [s for s in view._stages] == ["Source", "Approval", "Build", "Check"]
    # The boxes it replaced are closed, all of them; what it shows is open; and a page
    # reopened now gets every widget's state (no "'NoneType' object has no attribute
    # 'comm_id'" from a live box holding a closed one).
    assert all(part.comm is None for part in old)
    assert all(part.comm is not None for part in parts(view))
    request_states()
    view.close()


def test_a_stage_the_latest_execution_did_not_reach_is_marked_older(lab):
    first = approval_pipeline(lab)
    approve(lab.cp, "lab-pipeline", "Approval", "Approve", "ok")
    assert lab.execution(first)["status"] == "Succeeded"
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    lab.cp.stop_pipeline_execution(
        pipelineName="lab-pipeline", pipelineExecutionId=second, abandon=True, reason="demo"
    )
    view = views.PipelineView(lab.cp, "lab-pipeline")
    snapshot = view.snapshot
    assert snapshot["latest_execution_id"] == second
    source, approval, build = snapshot["stages"]
    assert (source["older"], approval["older"], build["older"]) == (False, False, True)
    [build_action_] = build["actions"]
    assert build_action_["status"] == "Succeeded"
    assert (build_action_["older"], build_action_["older_execution_id"]) == (True, first)
    assert not source["actions"][0]["older"] and not approval["actions"][0]["older"]
    # Drawn muted, with what it is; the text view says it too.
    box = view._actions[("Build", "Build")]
    assert "lab-older" in classes(box) and "lab-older" in classes(view._stages["Build"])
    assert f"from an older execution {first[:8]}" in box.text.value
    assert "lab-older" not in classes(view._actions[("Source", "Source")])
    assert f"(from an older execution {first[:8]})" in views.text_view(snapshot)
    # The next execution reaches the stage again: no longer marked.
    third = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    approve(lab.cp, "lab-pipeline", "Approval", "Approve", "ok")
    assert lab.execution(third)["status"] == "Succeeded"
    view.refresh()
    assert "lab-older" not in classes(box) and "older execution" not in box.text.value
    assert "lab-older" not in classes(view._stages["Build"])
    view.close()


def test_an_action_the_latest_execution_did_not_run_is_marked_older(lab):
    first = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {
                "name": "Release",
                "actions": [approval_action(run_order=1), build_action(run_order=2)],
            },
        ]
    )
    approve(lab.cp, "lab-pipeline", "Release", "Approve", "ok")
    assert lab.execution(first)["status"] == "Succeeded"
    second = lab.cp.start_pipeline_execution(name="lab-pipeline")["pipelineExecutionId"]
    approve(lab.cp, "lab-pipeline", "Release", "Approve", "no", status="Rejected")
    assert lab.execution(second)["status"] == "Failed"
    view = views.PipelineView(lab.cp, "lab-pipeline")
    release = view.snapshot["stages"][1]
    assert release["execution_id"] == second and not release["older"]
    approval, build = release["actions"]
    assert (approval["status"], approval["older"]) == ("Failed", False)
    assert (build["status"], build["older"]) == ("Succeeded", True)  # the first's build
    assert "from an older execution" in view._actions[("Release", "Build")].text.value
    assert "lab-older" not in classes(view._stages["Release"])
    view.close()


def test_marking_without_permission_to_list_action_executions_marks_whole_stages(lab):
    approval_pipeline(lab)

    class Refusing:
        def __init__(self, client):
            self._client = client

        def __getattr__(self, name):
            if name == "list_action_executions":
                raise PermissionError("AccessDenied")
            return getattr(self._client, name)

    snapshot = views.view_snapshot(Refusing(lab.cp), "lab-pipeline")
    assert [s["older"] for s in snapshot["stages"]] == [False, False, False]


# -- pacing ---------------------------------------------------------------------------------


@pytest.fixture
def no_pace(monkeypatch):
    monkeypatch.delenv("LAB_PACE_SECONDS", raising=False)
    yield
    workers.set_pace(0)


def test_lab_pace_sets_the_pace_and_lab_pace_seconds_wins(no_pace, monkeypatch, capsys):
    monkeypatch.delenv("LAB_MODE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert workers.pace_seconds() == 0
    assert lab_module.pace(1) == 1
    assert workers.pace_seconds() == 1
    assert "lasts 1 s" in capsys.readouterr().out
    # An explicitly set LAB_PACE_SECONDS wins: CI sets 0, a demonstrating instructor 2.
    monkeypatch.setenv("LAB_PACE_SECONDS", "0")
    assert workers.pace_seconds() == 0
    assert lab_module.pace(1) == 0
    assert "LAB_PACE_SECONDS=0 is set" in capsys.readouterr().out
    monkeypatch.setenv("LAB_PACE_SECONDS", "2")
    assert workers.pace_seconds() == 2
    monkeypatch.setenv("LAB_PACE_SECONDS", "")  # empty: not set
    assert workers.pace_seconds() == 1
    monkeypatch.setenv("LAB_PACE_SECONDS", "fast")  # not a number: ignored
    assert workers.pace_seconds() == 1
    monkeypatch.delenv("LAB_PACE_SECONDS")
    assert lab_module.pace(0) == 0
    assert "full speed" in capsys.readouterr().out


def test_lab_pace_on_a_real_account_does_nothing(no_pace, monkeypatch, capsys):
    monkeypatch.setenv("LAB_MODE", "aws")
    assert lab_module.pace(1) == 0
    assert workers.pace_seconds() == 0
    assert "AWS sets its own pace" in capsys.readouterr().out


def test_lab_pace_with_a_server_in_another_process_says_where_the_pace_is_set(
    no_pace, monkeypatch, capsys
):
    monkeypatch.delenv("LAB_MODE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setattr(lab_module, "_local_server", None)
    lab_module.pace(1)
    assert "runs in its own process" in capsys.readouterr().out


def test_every_pipeline_action_is_paced_while_in_progress(lab, monkeypatch):
    """Each action (source, build, approval, deploy...) pauses a step while InProgress, so a
    paced run shows each stage in progress in turn. Recorded, not timed: the pause is
    replaced by a look at the action that pauses."""
    seen: list[tuple[str, str, str]] = []

    def look() -> None:
        caller = sys._getframe(1)
        if caller.f_code.co_name == "run_action":  # the pause of an action
            run = caller.f_locals["run"]
            seen.append((run.stage, run.name, run.status))

    monkeypatch.setattr(workers, "pace", look)
    first = lab.create(
        stages=[
            {"name": "Source", "actions": [source_action()]},
            {"name": "Build", "actions": [build_action()]},
            {"name": "Approval", "actions": [approval_action()]},
        ]
    )
    approve(lab.cp, "lab-pipeline", "Approval", "Approve", "ok")
    assert lab.execution(first)["status"] == "Succeeded"
    assert seen == [
        ("Source", "Source", "InProgress"),
        ("Build", "Build", "InProgress"),
        ("Approval", "Approve", "InProgress"),
    ]
