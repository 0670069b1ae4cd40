"""The warm CLI's daemon: awscli imported once, a forked child per `aws` command.

Started by the kit (helpers.warm_cli.start) as `python daemon.py SOCKET PARENT_PID IDLE`,
run as a script so that none of the kit's modules (and their atexit handlers) are in it.

For each connection the daemon forks an attendant, which:

1. reads the launcher's request (argv, cwd, umask, environment) and its three standard
   descriptors (SCM_RIGHTS);
2. refuses (the launcher then runs the plain CLI) when the environment differs from the
   daemon's in what a Python process reads only as it starts (PYTHON*, locale variables,
   AWS_DATA_PATH, which awscli reads on import): this process's stdio encoding and
   awscli's data path would not be the fresh process's;
3. forks the command's process: own process group, the caller's streams, cwd, umask and
   environment, signal handlers as a fresh Python has them, and a CLI driver created there,
   after the environment is in place (profile, region, endpoint, credentials are read from
   it then; nothing made from the daemon's environment is reused);
4. tells the launcher the command's process group, waits for it and sends its status; if
   the launcher goes away first, the command gets SIGHUP, as a terminal's would.

Only this user reaches the socket: its folder is private (0700) and every peer's uid is
checked (SO_PEERCRED). The daemon ends when its parent (the kernel) ends, on SIGTERM, or
after IDLE seconds without a command.
"""

from __future__ import annotations

import atexit
import copy
import os
import select
import signal
import socket
import struct
import sys
import time

PROTOCOL = b"lab-warm-cli-1"
MAX_REQUEST = 4 * 1024 * 1024
CHECK_PARENT_SECONDS = 1.0

# What Python or awscli read once, at start-up: a caller differing here gets the plain CLI.
STARTUP_VARIABLES = ("LANG", "LANGUAGE", "AWS_DATA_PATH")
STARTUP_PREFIXES = ("PYTHON", "LC_")


def peer_allowed(peer_uid: int, own_uid: int | None = None) -> bool:
    """Only the daemon's own user may run commands through it."""
    return peer_uid == (os.getuid() if own_uid is None else own_uid)


def peer_uid(connection: socket.socket) -> int:
    raw = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return uid


def startup_environment(environment: dict[bytes, bytes]) -> dict[bytes, bytes]:
    names = tuple(name.encode() for name in STARTUP_VARIABLES)
    prefixes = tuple(prefix.encode() for prefix in STARTUP_PREFIXES)
    return {
        key: value for key, value in environment.items() if key in names or key.startswith(prefixes)
    }


class Request:
    def __init__(self, cwd: bytes, umask: int, argv: list[bytes], environment: dict[bytes, bytes]):
        self.cwd = cwd
        self.umask = umask
        self.argv = argv
        self.environment = environment


def parse_request(body: bytes) -> Request:
    fields = body.split(b"\0")
    if len(fields) < 4 or fields[0] != PROTOCOL:
        raise ValueError("not a warm CLI request")
    cwd, umask, count = fields[1], int(fields[2]), int(fields[3])
    if count < 1 or len(fields) < 4 + count:
        raise ValueError("argv does not fit")
    argv = fields[4 : 4 + count]
    environment: dict[bytes, bytes] = {}
    for item in fields[4 + count :]:
        key, separator, value = item.partition(b"=")
        if separator and key:
            environment.setdefault(key, value)
    return Request(cwd, umask & 0o777, argv, environment)


def receive_request(connection: socket.socket) -> tuple[Request, list[int]]:
    message, fds, _flags, _address = socket.recv_fds(connection, 65536, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("three standard streams expected")
    if len(message) < 8:
        raise ValueError("short request")
    size = int.from_bytes(message[:8], "big")
    if size > MAX_REQUEST:
        raise ValueError("request too large")
    body = message[8:]
    while len(body) < size:
        chunk = connection.recv(min(65536, size - len(body)))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    return parse_request(body), fds


# --- the command's process ---------------------------------------------------------------


def fresh_stdio(encoding: str, errors: str) -> None:
    """sys.stdin/stdout/stderr on descriptors 0-2 as a fresh Python makes them."""
    import io

    def stream(fd: int, mode: str, stream_errors: str, line_buffering: bool) -> io.TextIOWrapper:
        raw = io.FileIO(fd, mode, closefd=False)
        buffered: io.BufferedReader | io.BufferedWriter = (
            io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
        )
        return io.TextIOWrapper(
            buffered, encoding=encoding, errors=stream_errors, line_buffering=line_buffering
        )

    sys.stdin = stream(0, "r", errors, False)
    sys.stdout = stream(1, "w", errors, os.isatty(1))
    sys.stderr = stream(2, "w", "backslashreplace", True)
    # The originals too, as a fresh process has them (sys.__stdout__ is final to mypy).
    setattr(sys, "__stdin__", sys.stdin)  # noqa: B010
    setattr(sys, "__stdout__", sys.stdout)  # noqa: B010
    setattr(sys, "__stderr__", sys.stderr)  # noqa: B010


def apply_environment(environment: dict[bytes, bytes]) -> None:
    os.environb.clear()  # os.environ shares this mapping (and putenv follows)
    os.environb.update(environment)
    # What the `aws` script and awscli/__init__.py do to the environment as they start.
    if os.environ.get("LC_CTYPE", "") == "UTF-8":
        os.environ["LC_CTYPE"] = "en_US.UTF-8"
    import awscli

    data_path = awscli._awscli_data_path[-1]  # awscli's own data folder comes last
    given = os.environ.get("AWS_DATA_PATH")
    paths = []
    if given is not None:
        paths = [os.path.expanduser(os.path.expandvars(p)) for p in given.split(os.pathsep)]
    os.environ["AWS_DATA_PATH"] = os.pathsep.join(paths + [data_path])


def exit_code(code: object) -> int:
    """What sys.exit(code) makes of code, as the interpreter does at exit."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run_command(request: Request, stdio: tuple[str, str]) -> int:
    """The command's process: becomes a fresh `aws` and runs it (returns an exit code)."""
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # atexit keeps what the daemon's imports registered (logging's flush): a fresh `aws`
    # has the same, as the daemon imports nothing but the CLI.
    apply_environment(request.environment)
    fresh_stdio(*stdio)
    sys.argv = [os.fsdecode(argument) for argument in request.argv]
    import awscli.clidriver

    try:
        try:
            code = exit_code(awscli.clidriver.main())
        except SystemExit as leaving:
            code = exit_code(leaving.code)
    except KeyboardInterrupt:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)  # Python ends so on an uncaught Ctrl-C
        return 130
    threading_module = sys.modules.get("threading")
    if threading_module is not None:  # as the interpreter does: join non-daemon threads
        threading_module._shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = 120  # as Python does when flushing stdout at exit fails
    return code


# --- the attendant -----------------------------------------------------------------------


def attend(connection: socket.socket, stdio: tuple[str, str], startup: dict) -> None:
    """One connection: check it, run the command in a child, report its status."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if not peer_allowed(peer_uid(connection)):
        connection.sendall(b"Rnot your daemon\n")
        return
    try:
        request, fds = receive_request(connection)
    except (OSError, ValueError):
        connection.sendall(b"Rbad request\n")
        return
    if startup_environment(request.environment) != startup:
        connection.sendall(b"Rstart-up environment differs\n")
        return
    if request.argv[1:2] == [b"configure"]:  # prompts may need a terminal of their own
        connection.sendall(b"Rconfigure runs as the plain CLI\n")
        return
    try:
        os.chdir(request.cwd)
    except OSError:
        connection.sendall(b"Rno such working directory\n")
        return
    os.umask(request.umask)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setpgid(0, 0)
            connection.close()
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in fds:
                if fd > 2:
                    os.close(fd)
            code = run_command(request, stdio)
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    try:
        os.setpgid(pid, pid)  # both sides set it: no race with the launcher's signals
    except OSError:
        pass
    try:
        connection.sendall(b"P%d\n" % pid)
    except OSError:
        pass
    status = wait_for(pid, connection)
    try:
        connection.sendall(b"S%d\n" % status)
    except OSError:
        pass


def wait_for(pid: int, connection: socket.socket) -> int:
    """The command's wait status; SIGHUP to its group if the launcher hangs up first."""
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    hung_up = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        watched = [pidfd] if pidfd is not None else []
        if not hung_up:
            watched.append(connection.fileno())
        ready, _, _ = select.select(watched, [], [], 0.05 if pidfd is None else None)
        if connection.fileno() in ready and not hung_up:
            try:
                data = connection.recv(1)
            except OSError:
                data = b""
            if not data:
                hung_up = True
                try:
                    os.killpg(pid, signal.SIGHUP)
                except OSError:
                    pass


# --- the daemon --------------------------------------------------------------------------


# The services the labs' `aws` cells call (`aws deploy` is codedeploy): their models are
# parsed once, in the daemon. Every other service works as well, parsed by its command.
PRELOADED_SERVICES = ("codepipeline", "codecommit", "codedeploy", "codebuild", "iam", "sts", "s3")


def warm_up() -> None:
    """Import the CLI and everything a driver pulls in; keep no driver nor session.

    Two caches are made here, in the daemon only: each child gets a copy-on-write view
    of them, so nothing a command does reaches the daemon or another command.
    """
    import awscli.clidriver

    memoize_signature_checks()
    share_event_aliases()
    remember_package_listings()
    driver = awscli.clidriver.create_clidriver()
    driver._get_command_table()  # imports every customization's module
    preload_package_models(driver.session)
    del driver


def memoize_signature_checks() -> None:
    """botocore checks each event handler's signature (inspect) on every registration:
    ~400 per CLI start, many of them fresh closures. Whether a function takes **kwargs is
    a property of its code object: check each code object once."""
    import functools
    import inspect

    from botocore import compat, hooks

    original = compat.accepts_kwargs
    known: dict[object, object] = {}

    def code_of(func):
        if isinstance(func, functools.partial):  # keeps the function's **kwargs, or not
            func = func.func
        func = getattr(func, "__func__", func)  # a bound method: its function's
        plain = inspect.isfunction(func) and not hasattr(func, "__signature__")
        return func.__code__ if plain else None

    def accepts_kwargs(func):
        code = code_of(func)
        if code is None:
            return original(func)
        if code not in known:
            known[code] = original(func)
        return known[code]

    hooks.accepts_kwargs = accepts_kwargs


def share_event_aliases() -> None:
    """Each event emitter translates old event names (~400 per start) into a cache of its
    own; with botocore's fixed alias table the answers are the same for all: share them.
    (Only `--debug` would differ: it logs a translation the first time it is made.)"""
    from botocore import hooks

    shared: dict[str, str] = {}
    original = hooks.EventAliaser.__init__

    def __init__(self, event_emitter, event_aliases=None):
        original(self, event_emitter, event_aliases)
        if event_aliases is None:
            self._alias_name_cache = shared

    hooks.EventAliaser.__init__ = __init__


def package_folders() -> tuple[str, ...]:
    """The installed packages' folders: files there change only with a new install."""
    import awscli
    import botocore

    return tuple(
        os.path.dirname(os.path.abspath(module.__file__ or "")) + os.sep
        for module in (awscli, botocore)
    )


def remember_package_listings() -> None:
    """botocore's loader lists every service folder (~2,000 listdir, ~6,000 stat) on each
    start to know which services exist. In the packages' own folders the answers are
    remembered (the user's ~/.aws/models is still looked at every time)."""
    import types

    from botocore import loaders

    packages = package_folders()
    listings: dict[str, list[str]] = {}
    kinds: dict[tuple[str, str], bool] = {}

    def listdir(path):
        if not str(path).startswith(packages):
            return os.listdir(path)
        if path not in listings:
            listings[path] = os.listdir(path)
        return list(listings[path])

    def remembered(kind, check):
        def answer(path):
            if not str(path).startswith(packages):
                return check(path)
            key = (kind, path)
            if key not in kinds:
                kinds[key] = check(path)
            return kinds[key]

        return answer

    path_module = types.SimpleNamespace(
        **{name: getattr(os.path, name) for name in dir(os.path) if not name.startswith("__")}
    )
    path_module.isdir = remembered("dir", os.path.isdir)
    path_module.isfile = remembered("file", os.path.isfile)
    os_module = types.SimpleNamespace(
        **{name: getattr(os, name) for name in dir(os) if not name.startswith("__")}
    )
    os_module.listdir = listdir
    os_module.path = path_module
    loaders.os = os_module

    # The list of services itself, while every folder searched is a package's.
    services: dict[tuple, list[str]] = {}
    list_services = loaders.Loader.list_available_services

    def list_available_services(self, type_name):
        searched = tuple(path for path in self.search_paths if os.path.isdir(path))
        if not all(str(path).startswith(packages) for path in searched):
            return list_services(self, type_name)
        key = (searched, type_name)
        if key not in services:
            services[key] = list_services(self, type_name)
        return list(services[key])

    loaders.Loader.list_available_services = list_available_services


def preload_package_models(session) -> None:
    """Parse once the JSON files of the installed packages (never the user's ~/.aws/models)
    that the course's commands load; each child uses a parsed file once, then reads disk."""
    from botocore import loaders

    packages = package_folders()
    parsed: dict[str, object] = {}
    original = loaders.JSONFileLoader._load_file

    def load_file(self, full_path, open_method):
        data = parsed.pop(full_path, None)  # once: a second load gets a fresh object
        return data if data is not None else original(self, full_path, open_method)

    recording = True

    def record(self, full_path, open_method):
        data = original(self, full_path, open_method)
        if recording and data is not None and full_path.startswith(packages):
            parsed[full_path] = copy.deepcopy(data)
        return data

    loaders.JSONFileLoader._load_file = record
    loader = session.get_component("data_loader")
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        try:
            loader.load_data(name)
        except Exception:
            pass
    for service in PRELOADED_SERVICES:
        for kind in ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1"):
            try:
                loader.load_service_model(service, kind)
            except Exception:
                pass
    recording = False
    loaders.JSONFileLoader._load_file = load_file


def serve(path: str, parent: int, idle_seconds: float) -> None:
    startup = startup_environment(dict(os.environb))  # before awscli sets AWS_DATA_PATH
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    old_mask = os.umask(0o077)
    listener.bind(path)
    os.umask(old_mask)
    # Listening before the warm-up: an `aws` run while the CLI is still being imported waits
    # in the backlog for the rest of the warm-up, which is less than the plain CLI's start
    # (the warm-up *is* that start, begun earlier). Should the warm-up fail, the daemon ends
    # and the waiting launchers, reading no reply, run the plain CLI.
    listener.listen(64)
    try:
        warm_up()
        stdio = (sys.stdout.encoding, sys.stdout.errors or "strict")
        listener.settimeout(CHECK_PARENT_SECONDS)
        last_used = time.monotonic()
        while os.getppid() == parent and time.monotonic() - last_used < idle_seconds:
            reap_attendants()
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            last_used = time.monotonic()
            connection.settimeout(None)
            if os.fork() == 0:
                try:
                    listener.close()
                    attend(connection, stdio, startup)
                finally:
                    os._exit(0)
            connection.close()
    finally:
        try:
            os.unlink(path)  # the path holds this process's id (helpers.warm_cli.socket_path)
        except OSError:
            pass
        listener.close()


def reap_attendants() -> None:
    """Collect ended attendants (waited for, their CPU time counts in the daemon's
    children's time, which benchmarks/aws_cli.py reads)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main(argv: list[str]) -> None:
    path, parent, idle = argv[1], int(argv[2]), float(argv[3])
    serve(path, parent, idle)


if __name__ == "__main__":
    main(sys.argv)
