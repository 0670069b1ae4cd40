"""The program a Python function runs in: AWS's runtime interface client, in small.

Started by runtime.py as `python -I bootstrap.py <result file>` in the function's code
folder, in a process group of its own. It reads the invocation from stdin (JSON: handler,
event text, context fields, deadline), imports the handler, calls it with the event and
a context object as AWS documents them (python-context.md), and writes the outcome to the
result file: the reply payload, or the error as Lambda reports it (errorMessage,
errorType, stackTrace). What the function prints goes to stdout, which the server copies
into CloudWatch Logs. Standard library only: it starts in milliseconds.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback

THIS_FILE = os.path.abspath(__file__)


class LambdaContext:
    """The context object of AWS's Python runtime."""

    def __init__(self, fields: dict, deadline_ms: float) -> None:
        self.function_name = fields["function_name"]
        self.function_version = fields["function_version"]
        self.invoked_function_arn = fields["invoked_function_arn"]
        self.memory_limit_in_mb = fields["memory_limit_in_mb"]  # a string, as on AWS
        self.aws_request_id = fields["aws_request_id"]
        self.log_group_name = fields["log_group_name"]
        self.log_stream_name = fields["log_stream_name"]
        self.identity = None
        self.client_context = fields.get("client_context")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()


class _LambdaFormatter(logging.Formatter):
    """[LEVEL]\\t<UTC time>\\t<request id>\\t<message>, as the runtime's root handler."""

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        text = super().format(record)
        return f"[{record.levelname}]\t{stamp}.{int(record.msecs):03d}Z\t{self.request_id}\t{text}"


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def _stack(error: BaseException) -> list[str]:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != THIS_FILE]
    return traceback.format_list(frames)


def _log_error(error: dict) -> None:
    """The runtime's log line for an unhandled error: type, message and traceback."""
    trace = "".join(error["stackTrace"])
    text = f"[ERROR] {error['errorType']}: {error['errorMessage']}"
    if trace:
        text += f"\nTraceback (most recent call last):\n{trace}"
    print(text.rstrip(), flush=True)


def _load_handler(handler: str):
    module_name, _, function_name = handler.rpartition(".")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise _Failure(
            _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}")
        ) from None
    except SyntaxError as error:
        raise _Failure(
            _error(
                "Runtime.UserCodeSyntaxError",
                f"Syntax error in module '{module_name}': {error}",
                _stack(error),
            )
        ) from None
    except Exception as error:
        raise _Failure(_error(type(error).__name__, str(error), _stack(error))) from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _Failure(
            _error(
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        )
    return function


def _peak_memory_kb() -> int:
    """This program's peak resident memory: VmHWM (ru_maxrss keeps the forking server's)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _Failure(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def main() -> None:
    result_file = sys.argv[1]
    request = json.loads(sys.stdin.read())
    request_id = request["context"]["aws_request_id"]
    # Started with -S (site's .pth files cost a quarter second): the function's folder,
    # then the server's site-packages, so boto3 is there as in AWS's Python runtimes.
    sys.path[0:0] = [os.getcwd()]
    sys.path.extend(request.get("site_packages") or [])
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_LambdaFormatter(request_id))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    outcome: dict = {}
    started = time.monotonic()
    init_ms = 0.0
    try:
        function = _load_handler(request["handler"])
        init_ms = (time.monotonic() - started) * 1000
        started = time.monotonic()
        context = LambdaContext(request["context"], request["deadline_ms"])
        event = json.loads(request["event"])
        try:
            value = function(event, context)
        except Exception as error:
            raise _Failure(_error(type(error).__name__, str(error), _stack(error))) from None
        try:
            outcome["payload"] = json.dumps(value)
        except (TypeError, ValueError) as error:
            raise _Failure(
                _error("Runtime.MarshalError", f"Unable to marshal response: {error}")
            ) from None
    except _Failure as failure:
        failure.error["requestId"] = request_id
        outcome["error"] = failure.error
        _log_error(failure.error)
    sys.stdout.flush()
    sys.stderr.flush()
    outcome["duration_ms"] = (time.monotonic() - started) * 1000
    outcome["init_ms"] = init_ms
    outcome["max_rss_kb"] = _peak_memory_kb()
    with open(result_file, "w", encoding="utf-8") as stream:
        json.dump(outcome, stream)


if __name__ == "__main__":
    main()
