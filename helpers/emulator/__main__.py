"""python -m helpers.emulator: serve the local AWS until stopped (Ctrl+C).

Examples:
    python -m helpers.emulator                      # http://127.0.0.1:4566
    python -m helpers.emulator --port 5000
    python -m helpers.emulator --state-dir /tmp/lab # where git repositories etc. go

Then, in the shell where notebooks, the aws CLI, pytest or teardown.py run:
    export AWS_ENDPOINT_URL=http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.emulator",
        description="Serve the lab kit's local AWS (moto plus the kit's additions).",
        epilog=__doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=4566, help="port (default 4566; 0 = any free)")
    parser.add_argument("--state-dir", help="folder for what the kit keeps on disk "
                        "(default: LAB_STATE_DIR or .lab-state in the checkout)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    if args.state_dir:
        os.environ["LAB_STATE_DIR"] = args.state_dir

    from .server import LocalServer

    try:
        server = LocalServer(args.host, args.port, verbose=args.verbose)
    except OSError as error:
        print(f"Cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    print(f"Local AWS listening on {server.endpoint}", flush=True)
    print(f"  export AWS_ENDPOINT_URL={server.endpoint}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
