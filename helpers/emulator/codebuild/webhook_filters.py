"""Webhook filter groups (github-webhook.md, bitbucket-webhook.md, the model's WebhookFilter),
checked when a webhook is created or updated and matched against a push, as pure functions.

What AWS documents, and how it is read here:
- "A build is triggered if all the filters on one or more filter groups evaluate to true."
  A webhook without filter groups (and without the deprecated branchFilter) builds every
  push.
- EVENT: a comma-separated list of PUSH, PULL_REQUEST_CREATED, PULL_REQUEST_UPDATED,
  PULL_REQUEST_CLOSED, PULL_REQUEST_REOPENED, PULL_REQUEST_MERGED, RELEASED, PRERELEASED,
  WORKFLOW_JOB_QUEUED; "Types PULL_REQUEST_REOPENED and WORKFLOW_JOB_QUEUED work with GitHub
  and GitHub Enterprise only. Types RELEASED and PRERELEASED work with GitHub only." Each
  filter group has exactly one EVENT filter (the guide: "When you create a filter group,
  you specify: An event").
- The other types are regular expressions, found anywhere in the value (the guide's
  `READ_ME` and `\\[CodeBuild\\]` examples are unanchored; `^...$` anchors). HEAD_REF is the
  full reference (refs/heads/<branch>, refs/tags/<tag>); FILE_PATH matches when a changed
  file's path matches; COMMIT_MESSAGE the head commit's message; ACTOR_ACCOUNT_ID the
  sender's id. excludeMatchedPattern: "If true, then a webhook event that does not match
  the pattern triggers a build." A value the event does not have (BASE_REF on a push) does
  not match the pattern.
- BASE_REF works with pull request events only; TAG_NAME and RELEASE_NAME with RELEASED
  and PRERELEASED; WORKFLOW_NAME with WORKFLOW_JOB_QUEUED; REPOSITORY_NAME and
  ORGANIZATION_NAME with organization or global webhooks (scopeConfiguration).

Hostile patterns: a pattern is compiled by the `regex` package (pinned in requirements.txt)
and every match runs with a timeout (MATCH_TIMEOUT seconds, releasing the GIL), inside a
budget for the whole push (PUSH_BUDGET): a pattern that backtracks catastrophically fails
its filter (the push starts no build) and the webhook's statusMessage says which pattern
timed out; the server never hangs. The kit also bounds what it takes (these are the kit's
bounds, not AWS's, which documents none): a pattern of at most MAX_PATTERN characters,
MAX_FILTER_GROUPS groups, values cut at MAX_VALUE characters and at most MAX_FILES
changed files looked at per push. Compiling is bounded too: the `regex` package expands
counted repetitions when it compiles ((?:a{65535}){65535} takes minutes), so a count above
MAX_COUNT, or nested counts multiplying past MAX_EXPANSION, is refused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import regex

from . import exceptions as err

EVENTS = (
    "PUSH",
    "PULL_REQUEST_CREATED",
    "PULL_REQUEST_UPDATED",
    "PULL_REQUEST_CLOSED",
    "PULL_REQUEST_REOPENED",
    "PULL_REQUEST_MERGED",
    "RELEASED",
    "PRERELEASED",
    "WORKFLOW_JOB_QUEUED",
)
PULL_REQUEST_EVENTS = tuple(e for e in EVENTS if e.startswith("PULL_REQUEST_"))
GITHUB_TYPES = ("GITHUB", "GITHUB_ENTERPRISE")
EVENTS_ONLY_FOR = {
    "PULL_REQUEST_REOPENED": GITHUB_TYPES,
    "WORKFLOW_JOB_QUEUED": GITHUB_TYPES,
    "RELEASED": ("GITHUB",),
    "PRERELEASED": ("GITHUB",),
}
# A filter type -> the events it works with (None: any event).
FILTER_EVENTS: dict[str, tuple[str, ...] | None] = {
    "HEAD_REF": None,
    "ACTOR_ACCOUNT_ID": None,
    "BASE_REF": PULL_REQUEST_EVENTS,
    "FILE_PATH": ("PUSH", *PULL_REQUEST_EVENTS),
    "COMMIT_MESSAGE": ("PUSH", *PULL_REQUEST_EVENTS),
    "TAG_NAME": ("RELEASED", "PRERELEASED"),
    "RELEASE_NAME": ("RELEASED", "PRERELEASED"),
    "WORKFLOW_NAME": ("WORKFLOW_JOB_QUEUED",),
    "REPOSITORY_NAME": None,
    "ORGANIZATION_NAME": None,
}
SCOPED_FILTERS = ("REPOSITORY_NAME", "ORGANIZATION_NAME")

MAX_PATTERN = 1024
MAX_COUNT = 1000  # the largest {m,n} count
MAX_EXPANSION = 10_000  # nested counted repetitions, multiplied
MAX_FILTER_GROUPS = 50
MAX_VALUE = 4096
MAX_FILES = 1000
MATCH_TIMEOUT = 0.05
PUSH_BUDGET = 2.0


class PatternTimeout(Exception):
    """A pattern took longer than the kit allows on a value."""

    def __init__(self, pattern: str) -> None:
        super().__init__(pattern)
        self.pattern = pattern


def _invalid(message: str) -> err.InvalidInputException:
    return err.InvalidInputException(f"Invalid input: {message}")


def events_of(pattern: str) -> list[str]:
    return [event.strip() for event in pattern.split(",") if event.strip()]


def compile_pattern(pattern: str, filter_type: str) -> regex.Pattern:
    if not pattern:
        raise _invalid(f"the pattern of a {filter_type} filter cannot be empty")
    if len(pattern) > MAX_PATTERN:
        raise _invalid(
            f"the pattern of a {filter_type} filter is longer than {MAX_PATTERN} characters "
            "(the lab kit's bound)"
        )
    if counted_expansion(pattern) > MAX_EXPANSION:
        raise _invalid(
            f"the counted repetitions ({{m,n}}) of {pattern[:200]!r} nest to more than "
            f"{MAX_EXPANSION} repetitions, or one counts more than {MAX_COUNT} (the lab "
            "kit's bound)"
        )
    try:
        return regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError) as error:
        raise _invalid(f"{pattern[:200]!r} is not a valid regular expression: {error}") from None


_COUNT = re.compile(r"\{(\d{1,9})(?:,(\d{0,9}))?\}")


def counted_expansion(pattern: str) -> int:
    """How many times the deepest nest of counted repetitions repeats its atom (a{3}(b{2}){4}
    -> 8), MAX_EXPANSION + 1 when one count is above MAX_COUNT. Compiling expands counted
    repetitions: (?:a{65535}){65535} would take the server minutes before any match."""
    frames = [1]  # per open group: the largest expansion found inside it so far
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "(":
            frames.append(1)
            i += 1
            continue
        if char == ")" and len(frames) > 1:
            weight, i = frames.pop(), i + 1
        elif char == "[":
            i = _class_end(pattern, i)
            weight = 1
        else:
            i += 2 if char == "\\" else 1
            weight = 1
        count = _COUNT.match(pattern, i)
        if count is not None:
            bound = max(int(count[1]), int(count[2] or 0))
            if bound > MAX_COUNT:
                return MAX_EXPANSION + 1
            weight *= max(bound, 1)
            i = count.end()
        frames[-1] = max(frames[-1], weight)
        if frames[-1] > MAX_EXPANSION:
            return frames[-1]
    return max(frames)


def _class_end(pattern: str, start: int) -> int:
    """The index after the character class opened at start ([...], [^]...], escapes)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def check_filter_groups(groups: list[list[dict]], source_type: str, scoped: bool) -> None:
    """AWS's rules for filterGroups (InvalidInputException naming the broken rule)."""
    if len(groups) > MAX_FILTER_GROUPS:
        raise _invalid(f"at most {MAX_FILTER_GROUPS} filter groups (the lab kit's bound)")
    for index, group in enumerate(groups):
        where = f"filter group {index + 1}"
        kinds = [f["type"] for f in group]
        if kinds.count("EVENT") != 1:
            raise _invalid(f"{where} must contain exactly one EVENT filter")
        duplicated = {kind for kind in kinds if kinds.count(kind) > 1}
        if duplicated:
            raise _invalid(f"{where} has more than one {sorted(duplicated)[0]} filter")
        events = _check_events(next(f for f in group if f["type"] == "EVENT"), source_type, where)
        for webhook_filter in group:
            kind = webhook_filter["type"]
            if kind == "EVENT":
                continue
            compile_pattern(webhook_filter["pattern"], kind)
            allowed = FILTER_EVENTS[kind]
            if allowed is not None and not set(events) & set(allowed):
                raise _invalid(
                    f"a {kind} filter works with {', '.join(allowed)} events only ({where})"
                )
            if kind in SCOPED_FILTERS and not scoped:
                raise _invalid(
                    f"a {kind} filter works with organization or global webhooks only "
                    "(scopeConfiguration)"
                )


def _check_events(event_filter: dict, source_type: str, where: str) -> list[str]:
    events = events_of(event_filter["pattern"])
    if not events:
        raise _invalid(f"the EVENT filter of {where} names no event")
    for event in events:
        if event not in EVENTS:
            raise _invalid(f"{event[:100]!r} is not a webhook event type; use {', '.join(EVENTS)}")
        only = EVENTS_ONLY_FOR.get(event)
        if only is not None and source_type not in only:
            raise _invalid(f"{event} works with {' and '.join(only)} sources only")
    return events


# -- matching ---------------------------------------------------------------------------


@dataclass
class WebhookEvent:
    """What a filter reads of one event (a push offline)."""

    event: str  # "PUSH"
    head_ref: str  # refs/heads/<branch>, refs/tags/<tag>
    actor_account_id: str
    commit_message: str
    changed_files: tuple[str, ...] = ()
    base_ref: str | None = None  # pull requests only


@dataclass
class Matcher:
    """Matches one event, within a time budget shared by every filter it tries."""

    deadline: float = field(default_factory=lambda: time.monotonic() + PUSH_BUDGET)

    def search(self, pattern: str, value: str) -> bool:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise PatternTimeout(pattern)
        try:
            compiled = regex.compile(pattern)
            return (
                compiled.search(
                    value[:MAX_VALUE], timeout=min(MATCH_TIMEOUT, remaining), concurrent=True
                )
                is not None
            )
        except TimeoutError:
            raise PatternTimeout(pattern) from None
        except regex.error:  # checked at creation; a pattern stored before is just false
            return False

    def branch_filter(self, pattern: str, event: WebhookEvent) -> bool:
        """The deprecated branchFilter: a regular expression on the branch name."""
        prefix = "refs/heads/"
        if not event.head_ref.startswith(prefix):
            return False
        return self.search(pattern, event.head_ref[len(prefix) :])

    def filter_groups(self, groups: list[list[dict]], event: WebhookEvent) -> bool:
        return any(self._group(group, event) for group in groups)

    def _group(self, group: list[dict], event: WebhookEvent) -> bool:
        return all(self._filter(f, event) for f in group)

    def _filter(self, webhook_filter: dict, event: WebhookEvent) -> bool:
        kind, pattern = webhook_filter["type"], webhook_filter["pattern"]
        if kind == "EVENT":
            matched = event.event in events_of(pattern)
        elif kind == "FILE_PATH":
            matched = any(self.search(pattern, path) for path in event.changed_files[:MAX_FILES])
        else:
            value = {
                "HEAD_REF": event.head_ref,
                "BASE_REF": event.base_ref,
                "ACTOR_ACCOUNT_ID": event.actor_account_id,
                "COMMIT_MESSAGE": event.commit_message,
            }.get(kind)
            matched = value is not None and self.search(pattern, value)
        return matched != bool(webhook_filter.get("excludeMatchedPattern"))
