"""Seeded fuzz of the four JSON APIs over real HTTP: no malformed request gets a 5xx.

For every operation of the botocore models of CodePipeline, CodeBuild, CodeDeploy and
CodeCommit, a request is generated from the operation's input shape and then broken one
way at a time: a wrong JSON type at any depth, a required member missing, numbers beyond
their type, timestamps of 2**64, lone surrogates and NUL in strings, deep nesting, bytes
that are not UTF-8, bodies that are not JSON objects, targets that are not operations
(the kit's private _lab_* helpers among them) and Authorization headers that are garbage.
Every request but the garbage-Authorization ones is SigV4-signed as boto3 signs.

The run fails on any 5xx (the first failures are shown), on a reply to a broken request
that is not a 4xx in the JSON error shape, and on a resource that a refused request made.
LAB_FUZZ_SEED replays another run.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SEED = int(os.environ.get("LAB_FUZZ_SEED", "20261129"))
REGION = "us-east-1"
CREDENTIALS = Credentials("testing", "testing")
SERVICES = (
    "codepipeline",
    "codebuild",
    "codedeploy",
    "codecommit",
    "codestar-notifications",
    "codeconnections",
    "codestar-connections",
)
# REST-JSON services (no X-Amz-Target): the operation is the method and path of the model.
REST_SERVICES = {"codestar-notifications"}
MUTATIONS_PER_OPERATION = 9  # 243 operations: 2,187 requests
JSON_TYPE = "application/x-amz-json-1.1"

_models = botocore.session.get_session()
# Members that name a resource the run creates first, so that requests reach past the
# not-found checks into the handlers (about half the time).
KNOWN_NAMES = {"repositoryName": "fuzzrepo", "applicationName": "fuzzapp"}


@dataclass
class Case:
    service: str
    operation: str
    kind: str
    target: str
    body: bytes
    authorization: str | None = None  # None: signed with the test credentials
    method: str = "POST"
    path: str = "/"
    must_refuse: bool = True  # a broken request: 4xx, never 2xx
    error_type: str | None = None  # the __type it must answer, where one is certain

    def describe(self) -> str:
        auth = "signed" if self.authorization is None else f"Authorization {self.authorization!r}"
        return (
            f"{self.kind}: {self.method} {self.path} {self.target} ({auth}) "
            f"body {self.body[:160]!r}"
            f"{'...' if len(self.body) > 160 else ''}"
        )


# -- inputs generated from shapes -----------------------------------------------------


def generate(shape, rng: random.Random, depth: int = 0):
    """A value that fits shape (the model's types, enums and lengths, roughly)."""
    kind = shape.type_name
    if kind == "structure":
        members = {}
        for name, member in shape.members.items():
            if name in KNOWN_NAMES and rng.random() < 0.5:
                members[name] = KNOWN_NAMES[name]
            elif name in shape.required_members or (depth < 5 and rng.random() < 0.5):
                members[name] = generate(member, rng, depth + 1)
        return members
    if kind == "list":
        count = max(shape.metadata.get("min", 0), rng.randint(0, 2 if depth < 5 else 0))
        return [generate(shape.member, rng, depth + 1) for _ in range(count)]
    if kind == "map":
        return {
            _text(rng, 1, 8): generate(shape.value, rng, depth + 1)
            for _ in range(rng.randint(0, 2))
        }
    return _scalar(shape, rng)


def _scalar(shape, rng: random.Random):
    kind, meta = shape.type_name, shape.metadata
    if kind == "string":
        if shape.enum:
            return rng.choice(shape.enum)
        low = max(1, meta.get("min", 1))  # some ids have a minimum above 12 (connections')
        return _text(rng, low, max(low, min(meta.get("max", 12), 12)))
    if kind in ("integer", "long"):
        return rng.randint(int(meta.get("min", 1)), int(min(meta.get("max", 100), 100)))
    if kind in ("double", "float"):
        return round(rng.uniform(0, 100), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "timestamp":
        return 1_700_000_000 + rng.randint(0, 10_000_000)
    if kind == "blob":
        return base64.b64encode(rng.randbytes(rng.randint(1, 16))).decode()
    return None


def _text(rng: random.Random, low: int, high: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "fz" + "".join(rng.choice(alphabet) for _ in range(max(0, rng.randint(low, high) - 2)))


def paths(value, shape, prefix: tuple = ()) -> Iterator[tuple[tuple, object]]:
    """Every (path, shape) of a generated value, members and list items at any depth."""
    for key, item in _children(value):
        member = _child_shape(shape, key)
        if member is None:
            continue
        yield prefix + (key,), member
        yield from paths(item, member, prefix + (key,))


def _children(value):
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def _child_shape(shape, key):
    if shape.type_name == "structure":
        return shape.members.get(key)
    if shape.type_name == "list":
        return shape.member
    if shape.type_name == "map":
        return shape.value
    return None


def put(value, path: tuple, new):
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


# -- ways to break a request ----------------------------------------------------------

WRONG_TYPES = {
    "structure": ["x", 1, [], True],
    "map": ["x", 1, [1], False],
    "list": ["x", 1, {}, {"a": 1}],
    "string": [1, 2.5, True, [], {}, ["x"]],
    "integer": ["1", 1.5, True, [], {}],
    "long": ["1", 2.5, [], {"a": 1}],
    "double": ["1.5", [], {}],
    "float": ["1.5", []],
    "boolean": ["true", 1, [], {}],
    "timestamp": ["yesterday", [], {}, True],
    "blob": [1, [], {}, True],
}
HUGE = {
    "integer": [2**31, -(2**31) - 1, 2**64, 10**30],
    "long": [2**63, -(2**63) - 1, 2**64, 10**40],
    "double": [10**400, -(10**400)],
    "float": [10**400],
}
BAD_TIMESTAMPS = [2**64, -(2**64), 10**20, 1e300, -1e19]
BAD_STRINGS = ["\ud800", "a\udfffb", "x\ud83d", "\x00", "name\x00", "\x00" * 3]
NOT_OBJECTS = [
    b"[]",
    b'"text"',
    b"null",
    b"42",
    b"true",
    b"{",
    b'{"a":',
    b"NaN",
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b"not json",
    b"\x00",
    b"{}}",
    b" ",
]
PRIVATE_NAMES = [
    "_lab_backend",
    "__init__",
    "__class__",
    "_get_action",
    "dispatch",
    "setup_class",
    "call_action",
    "_dispatch",
    "list_repositories",
    "ListRepositories ",
    "",
    ".",
    "..",
    "Nope",
    "CreateRepository.x",
]
GARBAGE_AUTH = [
    "",
    "garbage",
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 Credential=",
    "Bearer abc",
    "AWS4-HMAC-SHA256 Credential=a/b/c/d/e",
    "AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=, Signature=",
    "AWS testing:",
    "AWS :sig",
    "AWS4-HMAC-SHA256 " + "A" * 1000,
    "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/codecommit/aws4_request, "
    "SignedHeaders=host, Signature=00",
    "\u00ff\u00fe garbage",
]


def mutate(rng: random.Random, service: str, operation: str) -> Case:
    """One broken request for operation, of a randomly chosen kind."""
    model = _models.get_service_model(service)
    shape = model.operation_model(operation).input_shape
    params = generate(shape, rng) if shape is not None else {}
    kind = rng.choice(list(MUTATORS))
    if service in REST_SERVICES:
        case = Case(service, operation, kind, "", b"", path=_rest_path(model, operation, params))
    else:
        case = Case(service, operation, kind, f"{model.metadata['targetPrefix']}.{operation}", b"")
    return MUTATORS[kind](rng, case, params, shape)


def _rest_path(model, operation: str, params: dict) -> str:
    """The path of a REST-JSON operation, its {label}s filled from params (which keep
    them: the mutators break the members the shape declares)."""
    from urllib.parse import quote

    path = model.operation_model(operation).http["requestUri"]
    shape = model.operation_model(operation).input_shape
    for name, member in shape.members.items() if shape else []:
        if member.serialization.get("location") == "uri":
            label = "{" + member.serialization.get("name", name) + "}"
            path = path.replace(label, quote(str(params.get(name, "x")), safe=""))
    return path


def _encoded(case: Case, params) -> Case:
    case.body = json.dumps(params).encode("utf-8", "surrogatepass")
    return case


def _pick(rng, params, shape, wanted: Callable) -> tuple | None:
    found = [(path, member) for path, member in paths(params, shape) if wanted(member)]
    return rng.choice(found) if found else None


def wrong_type(rng, case, params, shape):
    picked = _pick(rng, params, shape, lambda member: True) if shape is not None else None
    if picked is None:  # nothing to break inside: the body itself is the wrong type
        case.body, case.error_type = rng.choice(NOT_OBJECTS[:5]), "SerializationException"
        return case
    path, member = picked
    put(params, path, rng.choice(WRONG_TYPES[member.type_name]))
    return _encoded(case, params)


def missing_required(rng, case, params, shape):
    if shape is not None and shape.required_members and rng.random() < 0.5:
        params.pop(rng.choice(shape.required_members))
        return _encoded(case, params)
    picked = (
        _pick(
            rng,
            params,
            shape,
            lambda member: member.type_name == "structure" and member.required_members,
        )
        if shape is not None
        else None
    )
    if picked is None:
        return wrong_type(rng, case, params, shape)
    path, member = picked
    value = params
    for key in path:
        value = value[key]
    value.pop(rng.choice(member.required_members), None)
    return _encoded(case, params)


def huge_number(rng, case, params, shape):
    picked = _pick(rng, params, shape, lambda m: m.type_name in HUGE) if shape else None
    if picked is None:
        return bad_timestamp(rng, case, params, shape)
    path, member = picked
    put(params, path, rng.choice(HUGE[member.type_name]))
    case.error_type = "SerializationException"
    return _encoded(case, params)


def bad_timestamp(rng, case, params, shape):
    picked = _pick(rng, params, shape, lambda m: m.type_name == "timestamp") if shape else None
    if picked is None:
        return deep_nesting(rng, case, params, shape)
    put(params, picked[0], rng.choice(BAD_TIMESTAMPS))
    case.error_type = "SerializationException"
    return _encoded(case, params)


def bad_string(rng, case, params, shape):
    picked = _pick(rng, params, shape, lambda m: m.type_name == "string") if shape else None
    text = rng.choice(BAD_STRINGS)
    if picked is None:
        params[text] = text  # an unknown member: still refused (a surrogate or not a member)
    else:
        put(params, picked[0], text)
    case.must_refuse = "\x00" not in text or picked is None  # AWS takes NUL in free text
    if any("\ud800" <= char <= "\udfff" for char in text):
        case.error_type = "SerializationException"
    return _encoded(case, params)


def deep_nesting(rng, case, params, shape):
    depth = rng.choice([65, 1_000, 100_000])
    if rng.random() < 0.5:
        nested = "[" * depth + "]" * depth
    else:
        nested = '{"a":' * depth + "1" + "}" * depth
    key = rng.choice(list(params) or ["deep"])
    case.body = (json.dumps({**params, key: None})[:-1] + f', "{key}x": {nested}}}').encode()
    case.error_type = "SerializationException"
    return case


def not_utf8(rng, case, params, shape):
    text = json.dumps(params)
    if rng.random() < 0.5:
        case.body = text.encode("utf-16")
    else:
        bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        case.body = text[:-1].encode() + (b", " if params else b"") + b'"k": "' + bad + b'"}'
    case.error_type = "SerializationException"
    return case


def not_an_object(rng, case, params, shape):
    case.body = rng.choice(NOT_OBJECTS)
    case.error_type = "SerializationException"
    return case


def unknown_target(rng, case, params, shape):
    if case.service in REST_SERVICES:  # the path names the operation: one it does not name
        # no blank: a path with a space cannot be sent as it was signed
        case.path = "/" + rng.choice(PRIVATE_NAMES).strip("/. ")
        case.error_type = "UnknownOperationException"
        return _encoded(case, params)
    prefix = case.target.partition(".")[0]
    choice = rng.random()
    if choice < 0.6:
        case.target = f"{prefix}.{rng.choice(PRIVATE_NAMES)}"
        case.error_type = "UnknownOperationException"
    elif choice < 0.8:
        case.target = rng.choice(
            [
                "Nope",
                "",
                ".",
                f"{prefix}",
                f"X.{case.operation}",
                f"{prefix.lower()}.{case.operation}",
            ]
        )
    else:  # another service's operation, signed for this one
        other = rng.choice([s for s in SERVICES if s not in (case.service, *REST_SERVICES)])
        model = _models.get_service_model(other)
        case.target = f"{model.metadata['targetPrefix']}.{rng.choice(model.operation_names)}"
    return _encoded(case, params)


def bad_enum(rng, case, params, shape):
    picked = (
        _pick(rng, params, shape, lambda m: m.type_name == "string" and m.enum) if shape else None
    )
    if picked is None:
        return edge_value(rng, case, params, shape)
    put(params, picked[0], rng.choice(["", "zzz", picked[1].enum[0].lower(), "NAME "]))
    case.must_refuse = False  # CodeCommit and CodeDeploy name these errors per member
    return _encoded(case, params)


EDGE_VALUES = {
    "string": ["", " ", "a" * 3000, "../../etc/passwd", "*", "%s%n"],
    "integer": [0, -1, -(2**31)],
    "long": [0, -1, -(2**63)],
    "double": [-1.0, 0.0],
    "structure": [{}],
    "list": [[], [None]],
    "map": [{}, {"": None}],
    "timestamp": [0, -1, 253402300799],
    "blob": ["", "!!!"],
    "boolean": [False],
}


def edge_value(rng, case, params, shape):
    """Values of the right type at their edges: empty, zero, negative, huge, odd text.
    The model may allow them (so no refusal is required), but nothing may break."""
    picked = _pick(rng, params, shape, lambda m: m.type_name in EDGE_VALUES) if shape else None
    if picked is None:
        return not_an_object(rng, case, params, shape)
    put(params, picked[0], rng.choice(EDGE_VALUES[picked[1].type_name]))
    case.must_refuse = False
    return _encoded(case, params)


ODD_ROUTES = [
    ("GET", "/"),
    ("PUT", "/"),
    ("DELETE", "/"),
    ("POST", "/list-tags-for-resource"),
    ("POST", "/tag-resource"),
    ("POST", "/untag-resource"),
    ("POST", "/x/y"),
    ("POST", "/?Action=_lab_backend"),
    ("PATCH", "/a%00b"),
]


def odd_route(rng, case, params, shape):
    """Signed for the service, but not POST / (with or without the target)."""
    case.method, case.path = rng.choice(ODD_ROUTES)
    if case.path == "/?Action=_lab_backend":
        case.must_refuse = False  # the target's operation runs; the Action is ignored
    elif rng.random() < 0.5:
        case.target = ""
    return _encoded(case, params)


def garbage_authorization(rng, case, params, shape):
    case.authorization = rng.choice(GARBAGE_AUTH)
    return _encoded(case, params)


MUTATORS = {
    "wrong_type": wrong_type,
    "missing_required": missing_required,
    "huge_number": huge_number,
    "bad_timestamp": bad_timestamp,
    "bad_string": bad_string,
    "deep_nesting": deep_nesting,
    "not_utf8": not_utf8,
    "not_an_object": not_an_object,
    "unknown_target": unknown_target,
    "garbage_authorization": garbage_authorization,
    "bad_enum": bad_enum,
    "edge_value": edge_value,
    "odd_route": odd_route,
}


def all_cases(seed: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for service in SERVICES:
        for operation in _models.get_service_model(service).operation_names:
            cases += [mutate(rng, service, operation) for _ in range(MUTATIONS_PER_OPERATION)]
    rng.shuffle(cases)
    return cases


# -- sending --------------------------------------------------------------------------


def send(session: requests.Session, endpoint: str, case: Case) -> requests.Response:
    if case.service in REST_SERVICES:  # as boto3 sends REST-JSON: no target
        headers = {"Content-Type": "application/json"}
    else:
        headers = {"X-Amz-Target": case.target, "Content-Type": JSON_TYPE}
    if case.authorization is None:
        headers = signed_headers(endpoint, case.service, headers, case.body, case.path, case.method)
    else:
        headers["Authorization"] = case.authorization
    return session.request(
        case.method, endpoint + case.path, data=case.body, headers=headers, timeout=30
    )


def signed_headers(
    endpoint: str, service: str, headers: dict, body: bytes, url: str = "/", method: str = "POST"
) -> dict:
    request = AWSRequest(method=method, url=endpoint + url, data=body, headers=headers)
    SigV4Auth(CREDENTIALS, service, REGION).add_auth(request)
    return dict(request.headers.items())


def problem(case: Case, response: requests.Response) -> str | None:
    """What is wrong with the reply to case (None: nothing)."""
    if (
        response.status_code == 501
        and not case.must_refuse
        and _error_type(response) == ("NotImplementedByLabKit")
    ):
        return None  # a valid call of an operation the kit does not serve: by design
    if response.status_code >= 500:
        return "a 5xx"
    if case.must_refuse and not 400 <= response.status_code < 500:
        return "not refused"
    if response.status_code < 400:
        return None
    error_type = _error_type(response)
    if error_type is None:
        return "not a JSON error"
    if case.error_type and case.authorization is None and error_type != case.error_type:
        return f"not {case.error_type}"
    return None


def _error_type(response: requests.Response) -> str | None:
    try:
        error_type = response.json()["__type"]
    except (ValueError, KeyError, TypeError):
        return None
    return error_type if isinstance(error_type, str) else None


# -- resources before and after -------------------------------------------------------

LISTINGS = {
    "codepipeline": ("list_pipelines", "pipelines", "name", "CreatePipeline"),
    "codebuild": ("list_projects", "projects", None, "CreateProject"),
    "codedeploy": ("list_applications", "applications", None, "CreateApplication"),
    "codecommit": ("list_repositories", "repositories", "repositoryName", "CreateRepository"),
    "codestar-notifications": ("list_notification_rules", "NotificationRules", "Arn", None),
    "codeconnections": ("list_connections", "Connections", "ConnectionName", "CreateConnection"),
}
# One backend answers both connection APIs: a connection either makes is listed once.
LISTED_AS = {"codestar-connections": "codeconnections"}


def resources(endpoint: str) -> set[tuple[str, str]]:
    found = set()
    for service, (method, key, field, _) in LISTINGS.items():
        client = boto3.client(service, region_name=REGION, endpoint_url=endpoint)
        for page in _pages(client, method):
            found |= {(service, item[field] if field else item) for item in page.get(key, [])}
    notify = boto3.client("codestar-notifications", region_name=REGION, endpoint_url=endpoint)
    # Rules are listed by ARN; a create request names the rule's Name (created_name).
    found = {(s, n) for s, n in found if s != "codestar-notifications"} | {
        ("codestar-notifications", notify.describe_notification_rule(Arn=arn)["Name"])
        for s, arn in found
        if s == "codestar-notifications"
    }
    return found


def _pages(client, method: str) -> Iterator[dict]:
    """Every page of a list operation (ListConnections has no botocore paginator)."""
    if client.can_paginate(method):
        yield from client.get_paginator(method).paginate()
        return
    token = None
    while True:
        page = getattr(client, method)(**({"NextToken": token} if token else {}))
        yield page
        token = page.get("NextToken")
        if not token:
            return


def created_name(case: Case) -> tuple[str, str] | None:
    """The resource a successful create request names (pipeline.name, projectName...)."""
    if case.service == "codestar-notifications":
        return _created_rule(case)
    service = LISTED_AS.get(case.service, case.service)
    if case.operation != LISTINGS[service][3]:
        return None
    try:
        params = json.loads(case.body)
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    name = (
        (params.get("pipeline") or {}).get("name")
        if case.service == "codepipeline"
        else params.get(
            {
                "codebuild": "name",
                "codedeploy": "applicationName",
                "codecommit": "repositoryName",
                "codeconnections": "ConnectionName",
            }[service]
        )
    )
    return (service, name) if isinstance(name, str) else None


def _created_rule(case: Case) -> tuple[str, str] | None:
    """A notification rule, by its Name (resources() names listed rules so)."""
    if case.operation != "CreateNotificationRule":
        return None
    try:
        name = json.loads(case.body).get("Name")
    except (ValueError, AttributeError):
        return None
    return (case.service, name) if isinstance(name, str) else None


# -- the tests ------------------------------------------------------------------------


@pytest.mark.slow
def test_cases_cover_every_operation_and_kind():
    cases = all_cases(SEED)
    assert len(cases) >= 2000
    for service in SERVICES:
        operations = set(_models.get_service_model(service).operation_names)
        assert {case.operation for case in cases if case.service == service} == operations
    assert {case.kind for case in cases} == set(MUTATORS)
    assert all_cases(SEED)[0] == cases[0]  # seeded: a failure can be replayed


def create_known_resources(endpoint: str) -> None:
    codecommit = boto3.client("codecommit", region_name=REGION, endpoint_url=endpoint)
    if "fuzzrepo" not in {
        repo["repositoryName"] for repo in codecommit.list_repositories()["repositories"]
    }:
        codecommit.create_repository(repositoryName="fuzzrepo")
        codecommit.put_file(
            repositoryName="fuzzrepo", branchName="main", filePath="a.txt", fileContent=b"fuzz\n"
        )
    codedeploy = boto3.client("codedeploy", region_name=REGION, endpoint_url=endpoint)
    if "fuzzapp" not in codedeploy.list_applications()["applications"]:
        codedeploy.create_application(applicationName="fuzzapp")


@pytest.mark.slow  # thousands of requests against the local server
def test_no_malformed_request_gets_a_5xx_or_changes_anything(local_server):
    endpoint = local_server.endpoint
    create_known_resources(endpoint)
    before = resources(endpoint)
    cases = all_cases(SEED)
    failures, made_by_success = [], set()
    started = time.monotonic()
    with requests.Session() as session:
        for case in cases:
            response = send(session, endpoint, case)
            wrong = problem(case, response)
            if wrong:
                failures.append(
                    f"{wrong}: {case.describe()} -> {response.status_code} {response.text[:200]}"
                )
            elif response.status_code < 300 and created_name(case):
                made_by_success.add(created_name(case))
    elapsed = time.monotonic() - started
    assert not failures, (
        f"{len(failures)} of {len(cases)} fuzzed requests (seed {SEED}) "
        "answered wrongly; the first:\n" + "\n".join(failures[:8])
    )
    made_by_refused = resources(endpoint) - before - made_by_success
    assert not made_by_refused, f"refused requests created {sorted(made_by_refused)}"
    # A figure, not a gate (speed belongs in benchmarks/): shown with pytest -s.
    print(f"{len(cases)} fuzzed requests in {elapsed:.1f} s")
