"""The one entry point of every notebook: mode, region, session, clients, names and tags.

    from helpers import lab
    kit = lab.setup()

Offline (the default, even when AWS credentials exist on the machine) the kit talks to a
local AWS: the server at AWS_ENDPOINT_URL when one is configured, else one it starts
inside this process on a free port. LAB_MODE=aws talks to a real account, after showing
it and getting it confirmed (typed, or LAB_CONFIRM_ACCOUNT=<account id>).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3
from botocore.exceptions import ClientError, NoCredentialsError

from . import created, offline_credentials, settings, warm_cli
from .aws import OFFLINE_ACCOUNT_ID, Client

OFFLINE = "offline"
AWS = "aws"
DEFAULT_REGION = "us-east-1"

# Variables that would point an offline kit at a real account; offline mode removes them.
_REAL_ACCOUNT_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)

_local_server = None  # the in-process server, when this process started one


class LabSetupError(RuntimeError):
    """The chosen mode cannot be used; the message says what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython (notebooks) shows this instead of the traceback: the message says it all.
        return [f"{type(self).__name__}: {self}"]


NO_CREDENTIALS = (
    "LAB_MODE=aws but no AWS credentials were found: run `aws configure`, or set AWS_PROFILE "
    "to a configured profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or unset "
    "LAB_MODE to work offline). See docs/troubleshooting.md#no-credentials"
)


def caller_identity(sts: Client) -> dict:
    """STS GetCallerIdentity; no credentials at all is a LabSetupError that says what to
    configure (other failures, such as an expired token, stay botocore's)."""
    try:
        return sts.get_caller_identity()
    except NoCredentialsError:
        raise LabSetupError(NO_CREDENTIALS) from None


@dataclass
class Kit:
    """What a notebook needs: the session and clients for the current mode, names, tags."""

    mode: str
    region: str
    prefix: str
    session: boto3.Session
    endpoint_url: str | None = None
    account_id: str = ""
    solution: bool = False  # a kernel of solutions/: its resources are named apart
    _clients: dict = field(default_factory=dict, repr=False)

    @property
    def offline(self) -> bool:
        return self.mode == OFFLINE

    def client(self, service: str) -> Client:
        """A boto3 client for service in the current mode (cached)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    def name(self, suffix: str) -> str:
        """A resource name of this learner's: '<prefix>-<suffix>', or in a solution
        notebook '<prefix>-sol-<suffix>' (see names_prefix)."""
        return f"{self.names_prefix}-{suffix}"

    @property
    def names_prefix(self) -> str:
        """What this notebook's resource names start with. A solution works on resources
        of its own, so that a learner who opens it beside their lab (on one local server
        or one account, with one prefix) runs both at once without either deleting or
        changing the other's: '<prefix>-sol'. Both start with the learner's prefix and carry
        their tags: teardown removes both, and the classroom status counts either."""
        return solution_names_prefix(self.prefix) if self.solution else self.prefix

    def tags(self) -> dict[str, str]:
        """The kit's tags as a map ({key: value}), as CodeCommit and CodeDeploy... take them."""
        return settings.kit_tags(self.prefix)

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """The kit's tags as a list of pairs; CodePipeline wants key='key', value='value'."""
        return [{key: k, value: v} for k, v in self.tags().items()]

    def describe(self) -> str:
        where = self.endpoint_url if self.offline else f"account {self.account_id}"
        names = f" names={self.names_prefix}-..." if self.solution else ""
        return f"mode={self.mode} region={self.region} prefix={self.prefix}{names} ({where})"


SOLUTION_NAMES = "sol"


def solution_names_prefix(prefix: str) -> str:
    """What a solution notebook's resource names start with (Kit.names_prefix)."""
    return f"{prefix}-{SOLUTION_NAMES}"


CODEDEPLOY_TIME_SCALE = "LAB_CODEDEPLOY_TIME_SCALE"  # emulator/codedeploy/lambda_runtime.py


def current_mode() -> str:
    mode = os.environ.get("LAB_MODE", OFFLINE).strip().lower() or OFFLINE
    if mode not in (OFFLINE, AWS):
        raise LabSetupError(f"LAB_MODE={mode!r} is not a mode: use 'offline' (default) or 'aws'.")
    return mode


def setup(confirm: Callable[[str], str] = input, quiet: bool = False) -> Kit:
    """Prepare the current mode and return the Kit. Safe to call again (same result)."""
    mode = current_mode()
    prefix = settings.learner_prefix()
    kit = _setup_offline(prefix) if mode == OFFLINE else _setup_aws(prefix, confirm)
    kit.solution = settings.notebook_folder() == "solutions"
    created.watch(kit.session, prefix)  # untaggable resources, for teardown
    if not quiet:
        print(f"Lab kit ready: {kit.describe()}")
    return kit


def pace(seconds: float) -> float:
    """Offline: make each step of a build, a deployment or a pipeline action last `seconds`,
    so the pipeline view shows a run moving stage by stage; pace(0) goes full speed again.

    LAB_PACE_SECONDS, when set, wins (a test run sets 0, a demonstrating instructor 2). On a
    real account AWS sets its own pace and this does nothing. Returns the seconds in force.
    """
    from .emulator import workers

    if current_mode() != OFFLINE:
        print("On a real account AWS sets its own pace: lab.pace changes nothing.")
        return 0.0
    workers.set_pace(seconds)
    in_force = workers.pace_seconds()
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and (_local_server is None or _local_server.endpoint != endpoint):
        print(
            f"The local AWS at {endpoint} runs in its own process: its pace is its "
            "LAB_PACE_SECONDS (start it with LAB_PACE_SECONDS=1 to watch runs move)."
        )
    elif workers.pace_from_environment() is not None:
        print(f"LAB_PACE_SECONDS={in_force:g} is set: each step lasts {in_force:g} s.")
    elif in_force > 0:
        print(f"Each step of a run now lasts {in_force:g} s, to watch it; lab.pace(0) ends that.")
    else:
        print("Runs go at full speed again.")
    return in_force


def compress_minutes(scale: float) -> float:
    """Offline: make each of CodeDeploy's minutes (canary and linear intervals, the hooks'
    hour) last `scale` minutes, so a Lambda canary ends in seconds; 1 gives real minutes.

    LAB_CODEDEPLOY_TIME_SCALE, when set, wins (the local server reads it when a deployment
    runs). A local server in its own process keeps its own environment's value. On a real
    account this does nothing. Returns the scale in force.
    """
    if current_mode() != OFFLINE:
        print("On a real account CodeDeploy's minutes are minutes: nothing to compress.")
        return 1.0
    os.environ.setdefault(CODEDEPLOY_TIME_SCALE, f"{scale:g}")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and (_local_server is None or _local_server.endpoint != endpoint):
        print(
            f"The local AWS at {endpoint} runs in its own process: it compresses minutes as "
            f"its {CODEDEPLOY_TIME_SCALE} says (python -m helpers.emulator: 0.01 unless set)."
        )
        return scale
    from .emulator.codedeploy.lambda_runtime import time_scale

    in_force = time_scale()
    print(f"CodeDeploy's minutes now last {60 * in_force:g} s offline.")
    return in_force


def _setup_offline(prefix: str) -> Kit:
    global _local_server
    from .emulator.serving import is_lab_server

    region = os.environ.get("LAB_REGION") or DEFAULT_REGION
    for name in _REAL_ACCOUNT_VARIABLES:
        os.environ.pop(name, None)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
    os.environ["AWS_PAGER"] = ""

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    session: boto3.Session | None = None  # the one that asked a shared server, if any
    if endpoint and (_local_server is None or endpoint != _local_server.endpoint):
        if not is_lab_server(endpoint):
            raise LabSetupError(
                f"AWS_ENDPOINT_URL={endpoint} does not answer as the lab kit's local server. "
                "Start it with `python -m helpers.emulator`, or unset AWS_ENDPOINT_URL to let "
                "the notebook start its own. See docs/troubleshooting.md#local-server-not-answering"
            )
        session = _session_accepted_by(endpoint, region)
        key, secret = _key_pair(session)
    elif _local_server is None:
        from .emulator import start_local_server

        key, secret = offline_credentials.load_or_create()
        _local_server = start_local_server(credentials=(key, secret))
        endpoint = _local_server.endpoint
    else:
        key, secret = _local_server.credentials
        endpoint = _local_server.endpoint
    # The local server obeys only signed requests: these credentials are the learner's for
    # it, for boto3, for `aws` commands run from the notebook, and for git (via the CLI's
    # credential helper, as the CodeCommit user guide sets it up for HTTPS).
    os.environ["AWS_ACCESS_KEY_ID"] = key
    os.environ["AWS_SECRET_ACCESS_KEY"] = secret
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    # `aws` (cells, git's credential helper) through the warm CLI unless LAB_WARM_CLI=0.
    launcher = warm_cli.activate(os.environ)
    os.environ.update(offline_credentials.git_config(endpoint, cli=launcher))
    if session is None:
        session = boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=region
        )
    return Kit(
        OFFLINE, region, prefix, session, endpoint_url=endpoint, account_id=OFFLINE_ACCOUNT_ID
    )


def offline_session(endpoint: str, region: str) -> boto3.Session:
    """A session signed with the credentials the local server at endpoint accepts
    (teardown.py and the classroom tools talk to a shared server with it)."""
    return _session_accepted_by(endpoint, region)


def _key_pair(session: boto3.Session) -> tuple[str, str]:
    credentials = session.get_credentials()
    assert credentials is not None  # made with an explicit pair
    return credentials.access_key, credentials.secret_key


def _session_accepted_by(endpoint: str, region: str) -> boto3.Session:
    """A shared server (python -m helpers.emulator) was started with the pair in its
    environment, or with the state folder's; a session with whichever it accepts. The
    session that asked is the one returned: a new one would load botocore's endpoints and
    STS model again (~0.15 s of CPU in teardown.py)."""
    candidates = [
        pair
        for pair in (offline_credentials.from_environment(), offline_credentials.load_or_create())
        if pair
    ]
    for key, secret in candidates:
        session = boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=region
        )
        try:
            session.client("sts", endpoint_url=endpoint).get_caller_identity()
            return session
        except ClientError:
            continue
    raise LabSetupError(
        f"The local server at {endpoint} refuses your credentials. Use the ones it printed "
        "when it started (export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or start it "
        "with the same LAB_STATE_DIR as this notebook. "
        "See docs/troubleshooting.md#local-server-refuses-credentials"
    )


def _setup_aws(prefix: str, confirm) -> Kit:
    if os.environ.get("AWS_ENDPOINT_URL"):
        raise LabSetupError(
            "LAB_MODE=aws but AWS_ENDPOINT_URL is set (a local server). "
            "Unset it to use a real account."
        )
    session = boto3.Session(region_name=os.environ.get("LAB_REGION") or None)
    region = session.region_name
    try:
        # Credentials first: `aws configure` sets the region too.
        identity = caller_identity(session.client("sts", region_name=region or DEFAULT_REGION))
    except LabSetupError:
        raise
    except Exception as error:  # expired token, no network
        raise LabSetupError(
            f"Cannot reach your AWS account: {error}. "
            "Configure credentials (aws configure) or use offline mode. "
            "See docs/troubleshooting.md#access-denied"
        ) from error
    if not region:
        raise LabSetupError("No AWS region configured: set LAB_REGION (e.g. us-east-1).")
    account = identity["Account"]
    print("Real AWS mode: the labs will create resources that cost money.")
    print(f"  account: {account}\n  region:  {region}\n  caller:  {identity['Arn']}")
    print(f"  prefix:  {prefix} (every resource name starts with it and is tagged with it)")
    answer = os.environ.get("LAB_CONFIRM_ACCOUNT")
    if answer is None:
        answer = confirm("Type the account id to confirm: ")
    if answer.strip() != account:
        raise LabSetupError(f"Not confirmed: expected account id {account}. Nothing was created.")
    return Kit(AWS, region, prefix, session, account_id=account)
