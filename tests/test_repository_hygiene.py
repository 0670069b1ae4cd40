"""What a maintainer must not commit: secrets or real account ids in notebooks; a CI
workflow that drifts from the project's own CI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "labs").glob("*.ipynb"))
OFFLINE_ACCOUNT = "123456789012"

SECRET_PATTERNS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*[A-Za-z0-9/+]{40}"),
    "session token": re.compile(r"(?i)aws_session_token\s*[=:]\s*\S{100,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def secrets_in(text: str) -> list[str]:
    found = [name for name, pattern in SECRET_PATTERNS.items() if pattern.search(text)]
    found += [f"account id {a}" for a in set(ACCOUNT_ID.findall(text)) if a != OFFLINE_ACCOUNT]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_carries_no_secrets_or_account_ids(path):
    assert secrets_in(path.read_text()) == []


def test_the_secret_check_can_fail():
    assert secrets_in("key AKIAABCDEFGHIJKLMNOP") == ["AWS access key id"]
    assert secrets_in("arn:aws:iam::210987654321:role/x") == ["account id 210987654321"]
    assert secrets_in("arn:aws:iam::123456789012:role/x") == []


def test_ci_workflow_is_valid_and_runs_what_ci_runs():
    workflow = yaml.safe_load((ROOT / ".github/workflows/labs.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(s.get("run") == "bash .ci/run" for s in steps)
    assert {"push", "pull_request"} <= set(workflow[True] if True in workflow else workflow["on"])
    # The README's test command, bare (its exit status kept to print the test time first).
    commands = [line.split("||")[0].strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert "pytest" in commands
