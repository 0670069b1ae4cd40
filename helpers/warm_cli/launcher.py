"""The `aws` the kit puts first on a kernel's PATH: hands the command to the warm CLI.

Run as `python -SI` (no site, isolated) and importing only built-in modules (posix,
_socket, _signal), so it starts in a few milliseconds. It passes its argv, environment,
working directory, umask and standard streams (the descriptors themselves, over the Unix
socket in LAB_WARM_CLI_SOCKET) to the warm CLI's daemon, forwards SIGINT/SIGTERM/SIGHUP
to the command's process group, and ends as the command ended (exit code or signal).

If there is no daemon, or it refuses, this process becomes the plain CLI: the first other
`aws` on PATH (else REAL_AWS, written in when the kit generated this file).
"""

import _signal
import _socket
import posix
import sys

REAL_AWS = ""  # replaced when the kit writes this file to its private bin folder
PROTOCOL = b"lab-warm-cli-1"
FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)

child_group = 0
pending: list = []


def forward(signum, frame):
    if child_group:
        try:
            posix.kill(-child_group, signum)
        except OSError:
            pass
    else:
        pending.append(signum)


def is_executable_file(path):
    try:
        return (posix.stat(path).st_mode & 0o170000) == 0o100000 and posix.access(path, 1)
    except OSError:
        return False


def _resolve(path):
    # Enough of realpath for the comparison below: follow links of the file itself.
    for _ in range(40):
        try:
            target = posix.readlink(path)
        except OSError:
            return path
        if not target.startswith("/"):
            target = path.rsplit("/", 1)[0] + "/" + target
        path = target
    return path


def plain_cli():
    """The first `aws` on PATH that is not this launcher."""
    me = _resolve(sys.argv[0])
    own_folder = sys.argv[0].rsplit("/", 1)[0]
    for folder in posix.environ.get(b"PATH", b"").decode("utf-8", "surrogateescape").split(":"):
        if not folder or folder == own_folder:
            continue
        candidate = folder.rstrip("/") + "/aws"
        if is_executable_file(candidate) and _resolve(candidate) != me:
            return candidate
    return REAL_AWS or "aws"


def run_plain():
    command = plain_cli()
    try:
        posix.execv(command, [command] + sys.argv[1:])
    except OSError as error:
        sys.stderr.write(f"aws: cannot run the AWS CLI ({command}): {error}\n")
        posix._exit(127)


def request():
    """argv, cwd, umask and environment as NUL-separated bytes (none can hold a NUL)."""
    mask = posix.umask(0o022)
    posix.umask(mask)
    argv = [argument.encode("utf-8", "surrogateescape") for argument in sys.argv]
    environment = [key + b"=" + value for key, value in posix.environ.items()]
    fields = [PROTOCOL, posix.getcwdb(), b"%d" % mask, b"%d" % len(argv)] + argv + environment
    body = b"\0".join(fields)
    return len(body).to_bytes(8, "big") + body


def read_line(connection, buffer):
    while b"\n" not in buffer[0]:
        chunk = connection.recv(4096)
        if not chunk:
            return None
        buffer[0] += chunk
    line, buffer[0] = buffer[0].split(b"\n", 1)
    return line


def end_as(status):
    if status & 0x7F == 0:  # exited
        posix._exit((status >> 8) & 0xFF)
    signum = status & 0x7F
    _signal.signal(signum, _signal.SIG_DFL)
    posix.kill(posix.getpid(), signum)
    posix._exit(128 + signum)


def main():
    global child_group
    path = posix.environ.get(b"LAB_WARM_CLI_SOCKET")
    if not path or posix.environ.get(b"LAB_WARM_CLI", b"1") == b"0":
        run_plain()
    for stream in (0, 1, 2):
        try:
            posix.fstat(stream)
        except OSError:
            run_plain()  # a closed standard stream: let the plain CLI see it as it is
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        connection.connect(path)
        for signum in FORWARDED:
            _signal.signal(signum, forward)
        fds = b"".join(fd.to_bytes(4, sys.byteorder) for fd in (0, 1, 2))
        connection.sendmsg([request()], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        buffer = [b""]
        line = read_line(connection, buffer)
    except OSError:
        line = None
    if not line or line[:1] != b"P":
        connection.close()
        if posix.environ.get(b"LAB_WARM_CLI_DEBUG"):
            sys.stderr.write(f"aws: warm CLI not used: {line!r}\n")
        for signum in FORWARDED:
            _signal.signal(signum, _signal.SIG_DFL)
        run_plain()  # no daemon, or it refused: nothing has run yet
    child_group = int(line[1:])
    for signum in pending:
        forward(signum, None)
    try:
        line = read_line(connection, buffer)
    except OSError:
        line = None
    if not line or line[:1] != b"S":
        sys.stderr.write("aws: the warm CLI ended without a status\n")
        posix._exit(255)
    end_as(int(line[1:]))


main()
