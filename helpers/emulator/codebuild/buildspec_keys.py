"""How a build honours or explains the buildspec keys that name the machine it runs on:
env/shell, run-as (top level and per phase), proxy and env/git-credential-helper
(build-spec-ref.md). The runner logs each note in the build log, as [Container] lines.
"""

from __future__ import annotations

import getpass

from .buildspec import BuildSpec

BASH = ["bash", "--noprofile", "--norc"]
# /bin/sh on the Amazon Linux images is bash in POSIX mode; the kit's session needs bash.
POSIX_SH = ["bash", "--posix", "--noprofile", "--norc"]
WINDOWS_SHELLS = ("powershell.exe", "cmd.exe")


def shell_command(spec: BuildSpec) -> list[str]:
    """The shell the build's commands run in."""
    return POSIX_SH if spec.shell == "/bin/sh" else BASH


def notes(spec: BuildSpec, phases: dict[str, str]) -> list[str]:
    """What the build log says about these keys; phases: API phase type -> buildspec key."""
    lines = []
    if spec.shell == "/bin/sh":
        lines.append("env/shell /bin/sh: commands run in bash in POSIX mode, as sh on Amazon Linux")
    elif spec.shell in WINDOWS_SHELLS:
        lines.append(
            f"env/shell {spec.shell} is a Windows shell: offline the build runs on Linux, "
            "so its commands run in bash"
        )
    users = [(where, user) for where, user in _run_as(spec, phases) if user]
    for where, user in users:
        lines.append(
            f"{where} {user}: offline the commands run as your own user ({_me()}), "
            f"not as {user}; on AWS they run as that Linux user"
        )
    if spec.proxy:
        settings = ", ".join(f"{key}: {'yes' if on else 'no'}" for key, on in spec.proxy.items())
        lines.append(
            f"proxy ({settings}) accepted: offline there is no explicit proxy server, "
            "so artifacts and logs go to the local AWS directly"
        )
    if spec.git_credential_helper:
        lines.append(
            "env/git-credential-helper yes: the kit's local git hosts (CodeCommit and "
            "<endpoint>/<github|gitlab|bitbucket>/...) need no credentials, so git "
            "commands in the build reach them without a credential helper"
        )
    return lines


def _run_as(spec: BuildSpec, phases: dict[str, str]) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = [("run-as", spec.run_as)]
    for phase_type, key in phases.items():
        phase = spec.phases.get(phase_type)
        if phase is not None:
            found.append((f"phases/{key}/run-as", phase.run_as))
    return found


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        return "the kit's user"
