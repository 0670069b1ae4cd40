"""A JupyterLab of a test's own, and headless Chromium to drive it.

What works on these machines (/work/shared/reference/browser-testing.md): Debian's chromium
driven by playwright (never `playwright install`), JupyterLab with its config, runtime and
settings in the test's tmp folder, kernel channels over unix sockets, and readiness read
from the status bar ("Python 3 (ipykernel) | Idle"), not the toolbar.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--disable-gpu", "--disable-quic"]
IDLE = "Python 3 (ipykernel) | Idle"

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(tmp_path: Path) -> dict[str, str]:
    """The environment of a JupyterLab that reads nothing of the user's or of the test run's
    (no endpoint, no synchronous workers, no pacing, no pytest variables)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_ENDPOINT_URL", "LAB_MODE", "LAB_SYNC_WORKERS", "LAB_CHECKS")
        and not k.startswith("PYTEST_")
    }
    env["LAB_PACE_SECONDS"] = "0"
    for name in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
        "LAB_STATE_DIR",
    ):
        folder = tmp_path / name.lower()
        folder.mkdir(exist_ok=True)
        env[name] = str(folder)
    notification = (
        tmp_path
        / "jupyterlab_settings_dir"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    # Every cell in the page, not only those scrolled into view: a test reads them all.
    notebook = notification.parent.parent / "notebook-extension" / "tracker.jupyterlab-settings"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    notebook.write_text(json.dumps({"windowingMode": "none"}))
    return env


@contextmanager
def running_jupyterlab(
    tmp_path: Path, root: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """JupyterLab serving `root` until the block ends: (url, token). Stops the server and
    its kernels (their process group) on the way out, and prints its log for a failure."""
    env = env or lab_environment(tmp_path)
    # Unix socket paths must stay under 108 bytes: the runtime folder gets a short path.
    runtime = tempfile.mkdtemp(prefix="jlab-")
    env["JUPYTER_RUNTIME_DIR"] = runtime
    port, token = free_port(), os.urandom(16).hex()
    log_path = tmp_path / "jupyter.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            # Kernel channels over unix sockets: no TCP ports to race other workers for.
            "--KernelManager.transport=ipc",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "JupyterLab did not start: " + log_path.read_text()
                    ) from None
                time.sleep(0.2)
        yield url, token
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its kernels
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
        shutil.rmtree(runtime, ignore_errors=True)
        # pytest shows this only when the test fails: what the server and kernels said.
        print("--- JupyterLab's log ---\n" + log_path.read_text()[-20_000:])


@contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


def open_notebook(page, url: str, token: str, path: str, reset_workspace: bool = False) -> None:
    """Open a notebook and wait until its kernel is connected and idle. With
    reset_workspace, the notebook opens alone (JupyterLab's `reset` query), not beside the
    tabs the workspace had."""
    from playwright.sync_api import expect

    reset = "reset&" if reset_workspace else ""
    page.goto(f"{url}/lab/tree/{path}?{reset}token={token}")
    expect(page.locator("#jp-main-statusbar").get_by_text(IDLE)).to_be_visible(timeout=90_000)


def run_all_cells(page) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
