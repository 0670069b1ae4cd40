#!/usr/bin/env python3
"""Delete what the CodePipeline lab kit created, and nothing else.

By default this is a dry run: it prints the plan (what is in scope and why) and deletes
nothing. Add --yes to delete. A resource is in scope when it carries the tags
lab:kit=codepipeline-lab-kit and lab:owner=<your prefix> (any owner with --all-learners).
Types AWS cannot tag go only when the kit recorded a lab creating them. On disk, a local
server's folder goes only when it was yours and its process has ended; others are listed.

Examples:
    python teardown.py                          # the plan, offline or LAB_MODE=aws
    python teardown.py --yes                    # delete it
    LAB_MODE=aws python teardown.py --yes --account-id 111122223333
    python teardown.py --all-learners --older-than 1d --region us-east-1 --region eu-west-1

Exit status: 0 nothing of the kit's is left, 1 something is left (listed), 2 usage error
or confirmation refused.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys

from helpers import created, lab, settings
from helpers import teardown as td


def parse_age(text: str) -> dt.timedelta:
    match = re.fullmatch(r"(\d+)([mhd])", text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use a number and m, h or d, e.g. 90m, 2h, 7d")
    unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return dt.timedelta(**{unit: int(match.group(1))})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python teardown.py",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--yes", action="store_true", help="delete (default: dry run)")
    parser.add_argument("--json", action="store_true", help="print the plan and result as JSON")
    parser.add_argument(
        "--all-learners",
        action="store_true",
        help="every learner's resources (instructors), not only yours",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        help="region to clean (repeatable; default: the kit's region)",
    )
    parser.add_argument(
        "--older-than",
        type=parse_age,
        metavar="AGE",
        help="only resources created at least AGE ago (e.g. 2h, 7d)",
    )
    parser.add_argument("--account-id", help="aws mode: confirm the account without a prompt")
    return parser


class Reporter:
    """Human text on stdout, or one JSON document at the end with --json."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.data: dict = {}

    def say(self, text: str = "") -> None:
        if not self.as_json:
            print(text, flush=True)

    def error(self, text: str) -> None:
        """Why teardown stops: on stderr, and in the JSON document too."""
        print(text, file=sys.stderr, flush=True)
        self.data["error"] = text

    def progress(self, index: int, total: int, resource: td.Resource) -> None:
        if not self.as_json:
            print(
                f"  [{index}/{total}] deleting {resource.service} {resource.kind} {resource.name}",
                flush=True,
            )

    def finish(self) -> None:
        if self.as_json:
            print(json.dumps(self.data, indent=2, default=str))


def connect(mode: str, args, out: Reporter):
    """The client factory for the mode, the regions, and the account (None offline
    when no local server answers)."""
    import boto3

    if mode == lab.OFFLINE:
        from helpers.emulator.serving import is_lab_server

        endpoint = os.environ.get("AWS_ENDPOINT_URL")
        regions = args.region or [os.environ.get("LAB_REGION") or lab.DEFAULT_REGION]
        if not endpoint or not is_lab_server(endpoint):
            why = "AWS_ENDPOINT_URL is not set" if not endpoint else f"{endpoint} does not answer"
            out.say(f"No local AWS server is running ({why}).")
            out.say(
                "  The local AWS keeps resources in the notebook kernel (or the "
                "`python -m helpers.emulator` process) that made them; they went with it."
            )
            out.say(
                "  To clean a running server, set AWS_ENDPOINT_URL to it. "
                "Files on disk are handled below."
            )
            out.data["server"] = None
            return None, regions, None
        try:
            session = lab.offline_session(endpoint, regions[0])
        except lab.LabSetupError as error:
            out.say(str(error))
            out.data["server"] = None
            return None, regions, None
        out.data["server"] = endpoint
        return (
            lambda service, region: session.client(
                service, region_name=region, endpoint_url=endpoint
            ),
            regions,
            lab.OFFLINE_ACCOUNT_ID,
        )
    session = boto3.Session(region_name=os.environ.get("LAB_REGION") or None)
    regions = args.region or [session.region_name or lab.DEFAULT_REGION]
    return (lambda service, region: session.client(service, region_name=region), regions, None)


def confirm_account(client_for, regions, args, out: Reporter) -> str | None:
    """aws mode: show the account and get it confirmed before anything is deleted."""
    identity = lab.caller_identity(client_for("sts", regions[0]))
    account = identity["Account"]
    try:
        aliases = client_for("iam", regions[0]).list_account_aliases()["AccountAliases"]
    except Exception:
        aliases = []
    out.say(
        f"Real AWS account {account} ({', '.join(aliases) or 'no alias'}), "
        f"region(s) {', '.join(regions)}, as {identity['Arn']}"
    )
    out.data.update(account=account, alias=aliases[0] if aliases else None)
    if not args.yes:
        return account
    answer = args.account_id
    if answer is None:
        if not sys.stdin.isatty():
            out.say("Refused: pass --account-id to confirm without a terminal.")
            return None
        answer = input("Type the account id to delete the kit's resources in it: ")
    if answer.strip() != account:
        out.say(
            f"Refused: {answer.strip() or '(nothing)'} is not account {account}. "
            "Nothing was deleted."
        )
        return None
    return account


def print_plan(
    out: Reporter, plan: list[td.Resource], local: list, warnings: list[str], kept: list
) -> None:
    if not plan and not local:
        out.say("Nothing of the kit's to delete.")
    for line in td.plan_lines(plan) + td.local_lines(local, kept):
        out.say(line)
    for warning in warnings:
        for line in td.wrap(f"warning: could not read {warning}", td.PLAN_WIDTH, hanging=4):
            out.say(line)
    if plan or local:
        out.say(f"Total: {len(plan)} resources, {len(local)} folders on disk.")


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return 0 if exit_.code == 0 else 2
    out = Reporter(args.json)
    try:
        mode = lab.current_mode()
        prefix = settings.learner_prefix()
    except (lab.LabSetupError, ValueError) as error:
        out.say(str(error))
        return 2
    scope = td.Scope(
        prefix,
        args.all_learners,
        args.older_than,
        recorded=created.recorded(None if args.all_learners else prefix),
    )
    out.data.update(mode=mode, prefix=prefix, all_learners=args.all_learners, dry_run=not args.yes)
    out.say(
        f"Lab kit teardown: mode {mode}, learner {prefix}"
        f"{' (all learners)' if args.all_learners else ''}"
        f"{'' if args.yes else ' - dry run, nothing is deleted (add --yes)'}"
    )

    client_for, regions, account = connect(mode, args, out)
    out.data["regions"] = regions
    if mode == lab.AWS:
        try:
            account = confirm_account(client_for, regions, args, out)
        except lab.LabSetupError as error:  # no credentials: say what to configure
            out.error(str(error))
            account = None
        if account is None:
            out.finish()
            return 2
    plan, warnings = td.find_all(client_for, regions, scope) if client_for else ([], [])
    local = td.local_leftovers(prefix)
    kept = td.left_alone(prefix)
    out.data.update(
        plan=[r.as_dict() for r in plan],
        local=[str(p) for p in local],
        left_alone=[{"path": str(p), "why": why} for p, why in kept],
        warnings=warnings,
    )
    print_plan(out, plan, local, warnings, kept)
    if not args.yes:
        out.finish()
        return 1 if plan or local else 0

    outcome = td.delete_all(plan, out.progress)
    td.remove_local(local)
    left, _ = td.find_all(client_for, regions, scope) if client_for else ([], [])
    left_local = [p for p in td.local_leftovers(prefix) if p.exists()]
    out.data.update(
        deleted=[r.as_dict() for r in outcome.deleted],
        failed=[{**r.as_dict(), "error": e} for r, e in outcome.failed],
        left=[r.as_dict() for r in left],
        left_local=[str(p) for p in left_local],
    )
    out.say(f"Deleted {len(outcome.deleted)} resources and {len(local) - len(left_local)} folders.")
    for resource, reason in outcome.failed:
        failed = f"FAILED {resource.service} {resource.kind} {resource.name}: {reason}"
        for line in td.wrap(failed, td.PLAN_WIDTH, hanging=4):
            out.say(line)
    if left or left_local:
        out.say("Still there:")
        for r in left:
            out.say(f"  {r.service} {r.kind} {r.name} ({r.region})")
        for path in left_local:
            out.say(f"  {path}")
    out.finish()
    return 1 if left or left_local else 0


if __name__ == "__main__":
    sys.exit(main())
