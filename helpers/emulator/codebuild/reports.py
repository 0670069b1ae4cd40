"""Test reports: reading the JUnit XML files a buildspec's reports section names.

Other test formats (Cucumber, NUnit, TestNG, TRX) are not read offline; such a report ends
INCOMPLETE with a log line saying so. Code coverage formats are read by coverage.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from .artifacts import ArtifactError, select_files
from .buildspec import ArtifactSpec, ReportSpec

TEST_FORMATS = ("JUNITXML",)


@dataclass
class ParsedTestCase:
    name: str
    prefix: str
    suite: str
    status: str  # SUCCEEDED, FAILED, ERROR, SKIPPED
    duration_ns: int
    message: str
    raw_path: str


class ReportFileError(Exception):
    pass


def report_files(src_dir: Path, spec: ReportSpec) -> list[tuple[Path, str]]:
    try:
        return select_files(
            src_dir,
            ArtifactSpec(
                files=spec.files,
                base_directory=spec.base_directory,
                discard_paths=spec.discard_paths,
            ),
        )
    except ArtifactError:
        return []


def parse_junit(path: Path, raw_path: str) -> list[ParsedTestCase]:
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise ReportFileError(f"{raw_path}: not a JUnit XML file ({error})") from None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cases = []
    for suite in suites:
        for case in suite.findall("testcase"):
            status, message = "SUCCEEDED", ""
            for tag, meaning in (("failure", "FAILED"), ("error", "ERROR"), ("skipped", "SKIPPED")):
                found = case.find(tag)
                if found is not None:
                    status = meaning
                    message = found.get("message") or (found.text or "").strip()
                    break
            cases.append(
                ParsedTestCase(
                    name=case.get("name", ""),
                    prefix=case.get("classname", ""),
                    suite=suite.get("name", ""),
                    status=status,
                    duration_ns=_nanoseconds(case.get("time")),
                    message=message,
                    raw_path=raw_path,
                )
            )
    return cases


def _nanoseconds(seconds: str | None) -> int:
    try:
        return int(round(float((seconds or "0").replace(",", "")) * 1e9))
    except ValueError:
        return 0
