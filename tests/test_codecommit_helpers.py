"""Lab 01's helpers: the sample app's files, and git as the lab runs it."""

from __future__ import annotations

import subprocess

from helpers import codecommit as cc_helpers


class _OfflineKit:
    offline = True


def test_sample_app_files_are_the_greeting_service_without_caches():
    files = cc_helpers.sample_app_files()
    assert {"greeting/__init__.py", "run_tests.py", "tests/test_greeting.py"} <= set(files)
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]
    assert b"def greet" in files["greeting/__init__.py"]


def test_git_leaves_out_the_credential_helpers_complaint_about_store(monkeypatch, capsys):
    # git's output after a push the helper signed; then `store` rejected the offline option.
    stderr = (
        "Unknown options: --ignore-host-check\n"
        "To http://127.0.0.1:1/v1/repos/r\n   1111111..2222222  main -> main\n"
    )

    def run(command, **kwargs):
        return subprocess.CompletedProcess(command, 0, stdout="", stderr=stderr)

    monkeypatch.setattr(cc_helpers.subprocess, "run", run)
    cc_helpers.git(_OfflineKit(), "push", "origin", "main")
    printed = capsys.readouterr().out
    assert cc_helpers.HELPER_NOISE not in printed
    assert printed.splitlines() == [
        "$ git push origin main",
        "To http://127.0.0.1:1/v1/repos/r",
        "   1111111..2222222  main -> main",
    ]
