"""V2 pipeline triggers on a git push (pipelines-triggers.md, pipelines-filter.md,
pipelines-filter-cli.md, syntax-glob.md of the CodePipeline user guide), as pure functions:
the local git host's push hook builds a PushEvent and asks `match_push` (or
`matching_trigger`) whether a pipeline starts, and with which execution trigger.

What AWS documents, and how it is read here:
- Triggers exist only for CodeStarSourceConnection source actions; a trigger names its
  source action in gitConfiguration.sourceActionName.
- "No filter: This trigger configuration starts your pipeline on any push to the default
  branch specified as part of action configuration" (BranchName). A source action without
  a trigger does the same unless DetectChanges is false ("Do not detect changes: ... the
  pipeline does not start automatically on any change").
  (The model's note "When a trigger configuration is specified, default change detection
  for repository and branch commits is disabled" is read with the guide's "No filter"
  case: a trigger without push or pullRequest keeps the BranchName push.)
- "Specify filter ... This also configures the pipeline not to start automatically on any
  change": with push filters only the filters decide; BranchName no longer matters.
- "You can only specify one trigger configuration per source action" (GitConfiguration).
- push filters: "These events use an OR operation between different push filters and an
  AND operation inside filters". Valid combinations in one filter: tags; branches;
  branches + file paths (validate_trigger refuses the others).
- includes/excludes: "The excludes takes priority over the includes" (the API reference of
  the CDK/CloudFormation types). Only excludes given: everything else is included.
- File paths: the push starts the pipeline when at least one changed file is included and
  not excluded (the guide does not spell out several files; this is the reading of
  "changes in specific file paths").
- Glob patterns (syntax-glob.md): `*` zero or more characters within a path component,
  `**` across components, `?` one character, `[ ]` a set (`[!...]` negated, ranges with
  `-`), `{a,b}` alternatives (not nested), `\\` escapes. The whole name must match. The
  same rules apply to branch and tag names ("feature/*" does not match "feature/a/b",
  "feature/**" does).
- Pull request filters are validated; a pull request event cannot happen offline (the local
  git host has no pull requests): `pull_request_notice` says so for the lab and the engine.

Execution trigger (ExecutionTrigger in ListPipelineExecutions / GetPipelineExecution): the
model's TriggerType has "Webhook" and "WebhookV2"; the guide does not show which one a
connection push gets. The kit answers "WebhookV2" when a trigger's filter matched and
"Webhook" for the default change detection on BranchName, with triggerDetail the source
action's ConnectionArn (what the console shows next to the trigger).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from . import exceptions as err

PROVIDER = "CodeStarSourceConnection"
FILTERED_TRIGGER_TYPE = "WebhookV2"
DEFAULT_TRIGGER_TYPE = "Webhook"
PULL_REQUEST_NOTICE = (
    "The local git host has no pull requests, so pull request triggers never start a "
    "pipeline offline (on AWS an OPEN, UPDATED or CLOSED pull request matching the filter "
    "does). Push a branch or a tag instead, or start the pipeline with "
    "StartPipelineExecution."
)


@dataclass(frozen=True)
class PushEvent:
    """One updated ref of a push to the local git host.

    repository: FullRepositoryId, "owner/name". connection_arn: the connection the host
    serves it through (None: any connection of the source action matches). ref_type:
    "branch" for refs/heads/<ref_name>, "tag" for refs/tags/<ref_name>. old_commit: None
    for a new ref. new_commit: None for a deleted ref (never starts a pipeline).
    changed_files: repository paths changed between old_commit and new_commit (for a new
    ref, the caller decides: e.g. the files of the new commits).
    """

    repository: str
    ref_type: Literal["branch", "tag"]
    ref_name: str
    new_commit: str | None
    old_commit: str | None = None
    changed_files: tuple[str, ...] = field(default_factory=tuple)
    connection_arn: str | None = None


@dataclass(frozen=True)
class TriggerMatch:
    """A push that starts the pipeline: the execution's trigger, the source action that takes
    the pushed commit as its revision, and the branch or tag it came from."""

    trigger: dict
    source_action_name: str
    revision: str
    ref_type: str
    ref_name: str


# -- matching ---------------------------------------------------------------------------


def matching_trigger(declaration: dict, event: PushEvent) -> dict | None:
    """The execution trigger ({"triggerType", "triggerDetail"}) when the push starts the
    pipeline, None when it does not."""
    match = match_push(declaration, event)
    return match.trigger if match else None


def match_push(
    declaration: dict, event: PushEvent, usable: Callable[[dict], bool] | None = None
) -> TriggerMatch | None:
    """The first source action (in declaration order) the push starts the pipeline for.
    usable(action), when given, says whether the action may follow the push at all (the
    local git host: its connection is AVAILABLE and of the pushed provider)."""
    if not event.new_commit:
        return None  # a deleted branch or tag starts nothing
    for action in _connection_sources(declaration, event):
        if usable is not None and not usable(action):
            continue
        trigger = _trigger_for(declaration, action["name"])
        if _push_starts(action, trigger, event):
            filtered = bool(trigger and trigger["gitConfiguration"].get("push"))
            return TriggerMatch(
                trigger={
                    "triggerType": FILTERED_TRIGGER_TYPE if filtered else DEFAULT_TRIGGER_TYPE,
                    "triggerDetail": str(action["configuration"].get("ConnectionArn", "")),
                },
                source_action_name=action["name"],
                revision=event.new_commit,
                ref_type=event.ref_type,
                ref_name=event.ref_name,
            )
    return None


def pull_request_notice(declaration: dict) -> str | None:
    """The kit's explanation when the pipeline declares pull request filters, else None."""
    for trigger in declaration.get("triggers") or []:
        if (trigger.get("gitConfiguration") or {}).get("pullRequest"):
            return PULL_REQUEST_NOTICE
    return None


def _connection_sources(declaration: dict, event: PushEvent) -> list[dict]:
    stages = declaration.get("stages") or []
    actions = stages[0].get("actions") or [] if stages else []
    return [
        action
        for action in actions
        if action["actionTypeId"].get("provider") == PROVIDER
        # Provider repository names are case-insensitive (owner/App is owner/app).
        and str(action.get("configuration", {}).get("FullRepositoryId", "")).lower()
        == event.repository.lower()
        and (
            event.connection_arn is None
            or action["configuration"].get("ConnectionArn") == event.connection_arn
        )
    ]


def _trigger_for(declaration: dict, action_name: str) -> dict | None:
    if declaration.get("pipelineType") != "V2":
        return None
    for trigger in declaration.get("triggers") or []:
        if trigger.get("gitConfiguration", {}).get("sourceActionName") == action_name:
            return trigger
    return None


def _push_starts(action: dict, trigger: dict | None, event: PushEvent) -> bool:
    if trigger is not None:
        configuration = trigger["gitConfiguration"]
        if configuration.get("push"):
            return any(_filter_matches(f, event) for f in configuration["push"])
        if configuration.get("pullRequest"):
            return False  # pull request events only; a push is not one
        return _default_branch_push(action, event)  # a trigger with no filter
    if str(action["configuration"].get("DetectChanges", "true")).lower() == "false":
        return False
    return _default_branch_push(action, event)


def _default_branch_push(action: dict, event: PushEvent) -> bool:
    return event.ref_type == "branch" and event.ref_name == action["configuration"].get(
        "BranchName"
    )


def _filter_matches(push_filter: dict, event: PushEvent) -> bool:
    """AND inside a filter: every criterion present holds."""
    tags, branches, paths = (push_filter.get(k) for k in ("tags", "branches", "filePaths"))
    if tags is not None:
        if event.ref_type != "tag" or not criteria_match(tags, event.ref_name):
            return False
    if branches is not None:
        if event.ref_type != "branch" or not criteria_match(branches, event.ref_name):
            return False
    if paths is not None:
        if not any(criteria_match(paths, path) for path in event.changed_files):
            return False
    return tags is not None or branches is not None


def criteria_match(criteria: dict, name: str) -> bool:
    """includes/excludes: excludes take priority; no includes means everything."""
    if any(glob_matches(p, name) for p in criteria.get("excludes") or []):
        return False
    includes = criteria.get("includes")
    return not includes or any(glob_matches(p, name) for p in includes)


# -- glob patterns ----------------------------------------------------------------------
#
# A pattern is read into items: a character test, STAR ("*"), DSTAR ("**") or a group of
# alternatives ("{a,b}", not nested: syntax-glob.md "Groups can't be nested"), and matched
# by walking the set of positions it can be at, one character at a time: time linear in
# pattern length times name length, whatever the pattern (a regular expression with many
# "**" would backtrack exponentially on a hostile pattern).

STAR, DSTAR = "*", "**"
Atom = str | Callable[[str], bool]
Position = tuple[int, int, int]  # item, alternative (-1: not in a group), atom in it


class GlobSyntaxError(ValueError):
    """A pattern syntax-glob.md's rules cannot read (unclosed [ or {, nested {)."""


@dataclass(frozen=True)
class Glob:
    items: tuple[Atom | tuple[tuple[Atom, ...], ...], ...]
    _closures: dict[Position, frozenset[Position]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # (positions, character) -> positions: the walk as a lazily built DFA, bounded
    _moves: dict[tuple[frozenset[Position], str], frozenset[Position]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def matches(self, name: str) -> bool:
        positions = frozenset(self._closure({(0, -1, 0)}))
        for char in name:
            moved = self._moves.get((positions, char))
            if moved is None:
                if len(self._moves) > 4096:
                    self._moves.clear()
                moved = frozenset(self._closure(self._step(set(positions), char)))
                self._moves[(positions, char)] = moved
            positions = moved
            if not positions:
                return False
        return any(item == len(self.items) for item, _, _ in positions)

    def _atom(self, position: Position) -> Atom | None:
        item, alternative, index = position
        if item == len(self.items):
            return None
        entry = self.items[item]
        if alternative < 0:
            return None if isinstance(entry, tuple) else entry
        group = entry
        assert isinstance(group, tuple)
        return group[alternative][index]

    def _after(self, position: Position) -> Position:
        item, alternative, index = position
        if alternative >= 0:
            group = self.items[item]
            assert isinstance(group, tuple)
            if index + 1 < len(group[alternative]):
                return (item, alternative, index + 1)
        return (item + 1, -1, 0)

    def _closure(self, positions: set[Position]) -> set[Position]:
        reached: set[Position] = set()
        for position in positions:
            closure = self._closures.get(position)
            if closure is None:
                closure = self._closures[position] = frozenset(self._reach(position))
            reached |= closure
        return reached

    def _reach(self, start: Position) -> set[Position]:
        """The position plus those reached from it without a character: into a group's
        alternatives, past a * or ** (zero characters)."""
        seen: set[Position] = set()
        stack = [start]
        while stack:
            position = stack.pop()
            if position in seen:
                continue
            seen.add(position)
            item, alternative, _ = position
            if item == len(self.items):
                continue
            entry = self.items[item]
            if alternative < 0 and isinstance(entry, tuple):
                for index, option in enumerate(entry):
                    stack.append((item, index, 0) if option else (item + 1, -1, 0))
            elif self._atom(position) in (STAR, DSTAR):
                stack.append(self._after(position))
        return seen

    def _step(self, positions: set[Position], char: str) -> set[Position]:
        reached: set[Position] = set()
        for position in positions:
            atom = self._atom(position)
            if atom is None:
                continue
            if atom == DSTAR or (atom == STAR and char != "/"):
                reached.add(position)
            elif callable(atom) and atom(char):
                reached.add(self._after(position))
        return reached


def glob_matches(pattern: str, name: str) -> bool:
    return compile_glob(pattern).matches(name)


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Glob:
    """syntax-glob.md's rules (those of Java's PathMatcher "glob:")."""
    items: list = []
    group: list[list[Atom]] | None = None
    i = 0
    while i < len(pattern):
        char = pattern[i]
        atom: Atom | None = None
        if char == "\\":
            if i + 1 == len(pattern):
                raise GlobSyntaxError(f"Pattern {pattern!r} ends with an escape character")
            atom = _literal(pattern[i + 1])
            i += 1
        elif char == "*":
            atom = DSTAR if pattern.startswith("**", i) else STAR
            i += len(atom) - 1
        elif char == "?":
            atom = _not_slash
        elif char == "[":
            atom, i = _bracket(pattern, i)
        elif char == "{":
            if group is not None:
                raise GlobSyntaxError(f"Pattern {pattern!r} nests {{ }} groups")
            group = [[]]
        elif char == "}" and group is not None:
            items.append(tuple(tuple(option) for option in group))
            group = None
        elif char == "," and group is not None:
            group.append([])
        else:
            atom = _literal(char)
        if atom is not None:
            (group[-1] if group is not None else items).append(atom)
        i += 1
    if group is not None:
        raise GlobSyntaxError(f"Pattern {pattern!r} has a {{ without its }}")
    return Glob(tuple(items))


def _literal(char: str) -> Callable[[str], bool]:
    return char.__eq__


def _not_slash(char: str) -> bool:
    return char != "/"


def _bracket(pattern: str, start: int) -> tuple[Callable[[str], bool], int]:
    """A [ ] set from pattern[start] == "[": its test and the index of its "]". Inside it
    *, ? and \\ are themselves; "!" first negates; "-" first (or after "!") is itself; a set
    never matches "/" (a name component's character)."""
    i = start + 1
    negate = i < len(pattern) and pattern[i] == "!"
    if negate:
        i += 1
    singles: set[str] = set()
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        char = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            ranges.append((char, pattern[i + 2]))
            i += 3
        else:
            singles.add(char)
            i += 1
        first = False
    if i >= len(pattern):
        raise GlobSyntaxError(f"Pattern {pattern!r} has a [ without its ]")

    def test(char: str) -> bool:
        inside = char in singles or any(low <= char <= high for low, high in ranges)
        return char != "/" and inside != negate

    return test, i


# -- validation at CreatePipeline / UpdatePipeline ---------------------------------------


def validate_triggers(pipeline: dict) -> None:
    """What AWS checks beyond the model (list sizes, pattern lengths, the events enum and
    providerType are the model's, checked with each request): the source action, one
    trigger per source action, the documented filter combinations, readable globs."""
    first_stage = pipeline["stages"][0]["actions"] if pipeline["stages"] else []
    sources = {a["name"]: a for a in first_stage}
    seen: set[str] = set()
    for trigger in pipeline.get("triggers") or []:
        configuration = trigger["gitConfiguration"]
        name = configuration["sourceActionName"]
        action = sources.get(name)
        if action is None or action["actionTypeId"]["provider"] != PROVIDER or name in seen:
            # AWS's text (a CDK user's report of a 400 from CreatePipeline, aws-cdk#28694)
            raise err.InvalidStructureException(
                "Triggers for connection must reference a CodeStarSourceConnection action. "
                "Note that when you specify a trigger, you cant specify more than one "
                f"trigger per source action. (source action: {name})"
            )
        seen.add(name)
        for index, push_filter in enumerate(configuration.get("push") or []):
            _check_push_filter(push_filter, f"{name} push filter {index + 1}")
        for index, pr_filter in enumerate(configuration.get("pullRequest") or []):
            _check_pull_request_filter(pr_filter, f"{name} pullRequest filter {index + 1}")


def _check_push_filter(push_filter: dict, where: str) -> None:
    keys = {k for k in ("tags", "branches", "filePaths") if push_filter.get(k) is not None}
    # pipelines-filter.md: "Valid combinations are: tags, branches, branches + file paths"
    if keys not in ({"tags"}, {"branches"}, {"branches", "filePaths"}):
        raise err.ValidationException(
            f"Trigger {where} combines {', '.join(sorted(keys)) or 'no criteria'}; a push "
            "filter must use tags, branches, or branches with filePaths"
        )
    for key in keys:
        _check_criteria(push_filter[key], f"{where} {key}")


def _check_pull_request_filter(pr_filter: dict, where: str) -> None:
    keys = {k for k in ("branches", "filePaths") if pr_filter.get(k) is not None}
    # pipelines-triggers.md, Pull request: "Valid filter combinations are: branches,
    # branches + file paths"
    if "branches" not in keys:
        raise err.ValidationException(
            f"Trigger {where} has no branches; a pull request filter must use branches, or "
            "branches with filePaths"
        )
    events = pr_filter.get("events") or []
    if len(events) != len(set(events)):
        raise err.ValidationException(f"Trigger {where} lists an event twice")
    for key in keys:
        _check_criteria(pr_filter[key], f"{where} {key}")


def _check_criteria(criteria: dict, where: str) -> None:
    patterns = (criteria.get("includes") or []) + (criteria.get("excludes") or [])
    if not patterns:
        raise err.ValidationException(f"Trigger {where} needs includes or excludes")
    for pattern in patterns:
        try:
            compile_glob(pattern)
        except GlobSyntaxError as error:
            raise err.ValidationException(f"Trigger {where}: {error}") from None
