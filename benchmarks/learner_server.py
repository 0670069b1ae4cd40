"""What one learner's server needs: memory and CPU of a lab's kernel, which runs the lab's
own local AWS (lab.setup() starts it inside the kernel) and everything that server starts
(builds' bash sessions, hook scripts, git, the aws CLI), measured on a real lab run.

For each notebook it runs the notebook with nbclient in a fresh kernel, as a learner's
Run All would (LAB_PACE_SECONDS=0, the lab's own LAB_PREFIX, a temporary LAB_STATE_DIR),
and samples the kernel's process tree every 0.2 s from /proc (Linux; no psutil needed):

* peak RSS: the largest sum of the tree's resident memory at one moment (shared pages
  counted once per process, so an upper bound) and the largest sum of PSS (shared pages
  split between the processes sharing them: what the tree really takes);
* CPU seconds: the kernel's user + system time including its waited-for children
  (every build, hook, git and aws process), read just before the kernel shuts down;
* wall time, and the peak size of LAB_STATE_DIR (git repositories, build workspaces,
  instance folders), sampled every 2 s.

It also measures an idle `jupyter lab` (the learner's single-user server without a
kernel) the same way, and the size of the installed environment (site-packages).

Run: python benchmarks/learner_server.py [solutions/NN_name.ipynb ...]
     (default: solutions/03_codedeploy.ipynb solutions/04_codepipeline.ipynb)
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NOTEBOOKS = ["solutions/03_codedeploy.ipynb", "solutions/04_codepipeline.ipynb"]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
SAMPLE_SECONDS = 0.2


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces), 0-based from state."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        children.setdefault(parent, []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; PSS falls back to RSS where smaps_rollup is missing."""
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return rss, int(line.split()[1])
    except OSError:
        pass
    return rss, rss


def cpu_seconds(pid: int) -> float:
    """User + system time of pid and of its children it has waited for."""
    fields = _stat_fields(pid)
    # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 counted from state).
    return sum(int(value) for value in fields[11:15]) / TICKS


@dataclass
class Sampler:
    pid: int
    folder: Path | None = None  # sampled every ~2 s for the peak disk use
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    peak_processes: int = 0
    cpu: float = 0.0
    peak_disk_mb: float = 0.0
    _samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        rss = pss = 0
        tree = process_tree(self.pid)
        for pid in tree:
            try:
                one_rss, one_pss = memory_kb(pid)
            except (OSError, ValueError, IndexError):
                continue
            rss, pss = rss + one_rss, pss + one_pss
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_processes = max(self.peak_processes, len(tree))
        if self.folder and self._samples % 10 == 0:
            self.peak_disk_mb = max(self.peak_disk_mb, folder_mb(self.folder))
        self._samples += 1
        try:
            self.cpu = cpu_seconds(self.pid)
        except (OSError, ValueError, IndexError):
            pass  # the process ended: keep the last reading

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_SECONDS)

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread:
            self._thread.join()


def folder_mb(path: Path) -> float:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total / 2**20


def run_notebook(path: Path) -> dict:
    """Run one notebook in a fresh kernel, sampling the kernel's process tree."""
    state = Path(tempfile.mkdtemp(prefix="lab-kit-learner-"))
    prefix = "bm" + uuid.uuid4().hex[:8]
    os.environ.update(LAB_PREFIX=prefix, LAB_STATE_DIR=str(state), LAB_PACE_SECONDS="0")
    for name in ("AWS_ENDPOINT_URL", "LAB_MODE", "LAB_CHECKS", "LAB_SYNC_WORKERS"):
        os.environ.pop(name, None)  # the kernel starts its own local AWS, as a learner's
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    started = time.monotonic()
    error = ""
    with client.setup_kernel():
        sampler = Sampler(client.km.provisioner.process.pid, state).start()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except Exception as failure:  # a notebook mid-edit: report it, keep the figures
            error = f"{type(failure).__name__} at cell {index}: {str(failure).splitlines()[-1]}"
        finally:
            sampler.stop()
    seconds = time.monotonic() - started
    shutil.rmtree(state, ignore_errors=True)
    return {
        "notebook": str(path.relative_to(ROOT)),
        "seconds": seconds,
        "cpu": sampler.cpu,
        "rss_mb": sampler.peak_rss_kb / 1024,
        "pss_mb": sampler.peak_pss_kb / 1024,
        "processes": sampler.peak_processes,
        "disk_mb": sampler.peak_disk_mb,
        "error": error,
    }


def idle_jupyter_lab(seconds: float = 5.0) -> tuple[float, float]:
    """(RSS MB, PSS MB) of `jupyter lab` with no kernel, once it answers (then for `seconds`)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="lab-kit-jupyter-"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
    command += [f"--port={port}", f"--ServerApp.root_dir={ROOT}"]
    command += ["--allow-root"] if os.geteuid() == 0 else []  # a container's root
    environment = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home), JUPYTER_DATA_DIR=str(home))
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        sampler = Sampler(server.pid)
        started = time.monotonic() + 120
        while time.monotonic() < started and not _answers(f"http://127.0.0.1:{port}/api"):
            sampler.sample()
            time.sleep(SAMPLE_SECONDS)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sampler.sample()
            time.sleep(SAMPLE_SECONDS)
        return sampler.peak_rss_kb / 1024, sampler.peak_pss_kb / 1024
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def main(arguments: list[str]) -> int:
    notebooks = [ROOT / name for name in (arguments or DEFAULT_NOTEBOOKS)]
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(f"{time.strftime('%Y-%m-%d')}  {os.cpu_count()} CPUs ({cpu_model}), ", end="")
    print(f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    print()
    print(f"{'notebook':<42} {'wall s':>7} {'CPU s':>6} {'RSS MB':>7} {'PSS MB':>7} ", end="")
    print(f"{'procs':>5} {'disk MB':>7}")
    for path in notebooks:
        row = run_notebook(path)
        print(
            f"{row['notebook']:<42} {row['seconds']:7.1f} {row['cpu']:6.1f} {row['rss_mb']:7.0f} "
            f"{row['pss_mb']:7.0f} {row['processes']:5d} {row['disk_mb']:7.1f}"
        )
        if row["error"]:
            print(f"  (stopped early: {row['error']})")
    rss, pss = idle_jupyter_lab()
    print(f"\nidle jupyter lab (no kernel): RSS {rss:.0f} MB, PSS {pss:.0f} MB")
    site = Path(sysconfig.get_paths()["purelib"])
    print(f"installed environment: {folder_mb(site):.0f} MB in {site}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
