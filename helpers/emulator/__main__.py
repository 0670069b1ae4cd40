"""python -m helpers.emulator: serve the local AWS until stopped (Ctrl+C or SIGTERM).

Stopping it ends the builds and hook scripts it started (their whole process groups).

Examples:
    python -m helpers.emulator                      # http://127.0.0.1:4566
    python -m helpers.emulator --port 5000
    python -m helpers.emulator --state-dir /tmp/lab # where git repositories etc. go

Then, in the shell where notebooks, the aws CLI, pytest or teardown.py run:
    export AWS_ENDPOINT_URL=http://127.0.0.1:4566

Who it obeys: requests signed (SigV4) with the credentials it starts with (the
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of this shell, else a random pair it keeps in
<state folder>/local-aws/credentials.json, readable by you only) or with credentials it
issued (IAM access keys, STS sessions). Notebooks, teardown.py and the classroom tools
find them; git uses the aws CLI's credential helper. It refuses unsigned or wrongly signed
calls, Host names that are not this machine's (DNS rebinding), and any request from a web
page of another origin; moto's own /moto-api/ endpoints are off unless --moto-api.
Builds and hooks it started end when it stops (Ctrl+C, SIGTERM; after kill -9, at its
next start on the same state folder).

What survives a restart: files only (git repositories, build workspaces and instance
folders under the state folder). Resources (projects, pipelines, deployments...) live in
the server's memory and end with it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .. import offline_credentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.emulator",
        description="Serve the lab kit's local AWS (moto plus the kit's additions).",
        epilog=__doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    parser.add_argument("--port", type=int, default=4566, help="port (default 4566; 0 = any free)")
    parser.add_argument(
        "--state-dir",
        help="folder for what the kit keeps on disk "
        "(default: LAB_STATE_DIR or .lab-state in the checkout)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--moto-api",
        action="store_true",
        help="serve moto's own endpoints (/moto-api/: dashboard, state, reset); "
        "off by default, and signed requests only when on",
    )
    args = parser.parse_args(argv)
    if args.state_dir:
        os.environ["LAB_STATE_DIR"] = args.state_dir
    # A server for learners compresses CodeDeploy's minutes as lab 08's compress_minutes
    # does in a kernel (a Lambda canary in seconds); LAB_CODEDEPLOY_TIME_SCALE=1 gives
    # real minutes.
    os.environ.setdefault("LAB_CODEDEPLOY_TIME_SCALE", "0.01")

    from .server import LocalServer

    try:
        server = LocalServer(args.host, args.port, verbose=args.verbose, moto_api=args.moto_api)
    except OSError as error:
        print(f"Cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    print(f"Local AWS listening on {server.endpoint}", flush=True)
    print(f"  export AWS_ENDPOINT_URL={server.endpoint}", flush=True)
    print(_credentials_note(), flush=True)
    # SIGTERM (kill, systemd, a container stop) stops the server as Ctrl+C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()  # returns on Ctrl+C: werkzeug catches KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, signal.SIG_IGN)  # a second Ctrl+C must not cut this short
        server.stop()
    print("Stopped.", flush=True)
    return 0


def _credentials_note() -> str:
    if offline_credentials.from_environment():
        return (
            "It accepts requests signed with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY of "
            "this shell (and credentials it issues: IAM keys, STS sessions)."
        )
    return (
        f"It accepts requests signed with the credentials in {offline_credentials.path()} "
        "(readable by you only); notebooks, teardown.py and the classroom tools read them "
        "from there."
    )


if __name__ == "__main__":
    sys.exit(main())
