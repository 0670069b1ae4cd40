"""Code coverage reports (code-coverage-report.md): reading JaCoCo XML, Cobertura XML, Clover
XML and SimpleCov JSON files into per-file line and branch counts, and the report's summary.

The files come from the build, so from the learner's (or anyone's) repository: XML is read
without entity declarations (no "billion laughs", no external entities) and every file has
a size limit.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
import xml.parsers.expat as expat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import core
from ..core import LabHandlers
from . import exceptions as err
from .models import CodeBuildLabBackend, Report, codebuild_lab_backends

COVERAGE_FORMATS = ("JACOCOXML", "COBERTURAXML", "CLOVERXML", "SIMPLECOV")
MAX_FILE_BYTES = 64 * 1024 * 1024
_CONDITION = re.compile(r"\((\d+)/(\d+)\)")


class CoverageFileError(Exception):
    pass


@dataclass
class FileCoverage:
    file_path: str
    lines_covered: int = 0
    lines_missed: int = 0
    branches_covered: int = 0
    branches_missed: int = 0

    def add(self, other: FileCoverage) -> None:
        self.lines_covered += other.lines_covered
        self.lines_missed += other.lines_missed
        self.branches_covered += other.branches_covered
        self.branches_missed += other.branches_missed

    @property
    def line_percentage(self) -> float:
        return percentage(self.lines_covered, self.lines_missed)

    @property
    def branch_percentage(self) -> float:
        return percentage(self.branches_covered, self.branches_missed)


def percentage(covered: int, missed: int) -> float:
    total = covered + missed
    return round(100.0 * covered / total, 2) if total else 0.0


def parse(file_format: str, path: Path, raw_path: str) -> list[FileCoverage]:
    """The per-file coverage a report file holds (files named twice are added up)."""
    data = _read(path, raw_path)
    parser = {
        "JACOCOXML": _jacoco,
        "COBERTURAXML": _cobertura,
        "CLOVERXML": _clover,
        "SIMPLECOV": _simplecov,
    }[file_format]
    try:
        found = parser(data)
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        raise CoverageFileError(f"{raw_path}: not a {file_format} file ({error})") from None
    merged: dict[str, FileCoverage] = {}
    for item in found:
        merged.setdefault(item.file_path, FileCoverage(item.file_path)).add(item)
    return list(merged.values())


def summary(files: list[FileCoverage]) -> dict:
    total = FileCoverage("")
    for item in files:
        total.add(item)
    return {
        "lineCoveragePercentage": total.line_percentage,
        "linesCovered": total.lines_covered,
        "linesMissed": total.lines_missed,
        "branchCoveragePercentage": total.branch_percentage,
        "branchesCovered": total.branches_covered,
        "branchesMissed": total.branches_missed,
    }


def _read(path: Path, raw_path: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CoverageFileError(f"{raw_path}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_bytes()
    except OSError as error:
        raise CoverageFileError(f"{raw_path}: cannot be read ({error.strerror})") from None


# -- XML, without entities --------------------------------------------------------------


def safe_xml(data: bytes) -> ElementTree.Element:
    """The document's root; a document declaring entities is refused rather than expanded
    (defusedxml when it is installed, else expat with entity declarations refused)."""
    try:
        import defusedxml
        import defusedxml.ElementTree as defused
    except ImportError:
        return _expat_without_entities(data)
    try:
        return defused.fromstring(data)
    except defusedxml.DefusedXmlException as error:
        raise ValueError(f"unsafe XML: {type(error).__name__}") from None
    except ElementTree.ParseError as error:
        raise ValueError(str(error)) from None


def _expat_without_entities(data: bytes) -> ElementTree.Element:
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate()

    def refuse_entities(*_args: object) -> None:
        raise ValueError("unsafe XML: entity declarations are not read")

    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = refuse_entities
    parser.UnparsedEntityDeclHandler = refuse_entities
    try:
        parser.Parse(data, True)
        return builder.close()
    except (expat.ExpatError, AssertionError) as error:  # AssertionError: no root element
        raise ValueError(str(error)) from None


def _int(value: str | None) -> int:
    return max(0, int(float(value or 0)))


def _jacoco(data: bytes) -> list[FileCoverage]:
    """<report><package name="a/b"><sourcefile name="C.java"><counter type="LINE"
    missed= covered=/>; the file is package/sourcefile."""
    root = safe_xml(data)
    if root.tag != "report":
        raise ValueError("the root element is not <report>")
    found = []
    for package in root.iter("package"):
        for source in package.findall("sourcefile"):
            name = "/".join(part for part in (package.get("name"), source.get("name")) if part)
            item = FileCoverage(name)
            for counter in source.findall("counter"):
                covered, missed = _int(counter.get("covered")), _int(counter.get("missed"))
                if counter.get("type") == "LINE":
                    item.lines_covered, item.lines_missed = covered, missed
                elif counter.get("type") == "BRANCH":
                    item.branches_covered, item.branches_missed = covered, missed
            found.append(item)
    return found


def _cobertura(data: bytes) -> list[FileCoverage]:
    """<coverage><packages><package><classes><class filename=><lines><line number= hits=
    branch="true" condition-coverage="50% (1/2)"/>."""
    root = safe_xml(data)
    if root.tag != "coverage":
        raise ValueError("the root element is not <coverage>")
    found = []
    for klass in root.iter("class"):
        item = FileCoverage(klass.get("filename") or klass.get("name") or "")
        seen: set[str] = set()
        for line in klass.iter("line"):
            number = line.get("number") or ""
            if number in seen:  # a method's lines are also listed under the class
                continue
            seen.add(number)
            if _int(line.get("hits")) > 0:
                item.lines_covered += 1
            else:
                item.lines_missed += 1
            condition = _CONDITION.search(line.get("condition-coverage") or "")
            if line.get("branch") == "true" and condition:
                covered, total = int(condition[1]), int(condition[2])
                item.branches_covered += min(covered, total)
                item.branches_missed += max(0, total - covered)
        found.append(item)
    return found


def _clover(data: bytes) -> list[FileCoverage]:
    """<coverage><project><package><file name= path=><metrics statements=
    coveredstatements= conditionals= coveredconditionals=/>."""
    root = safe_xml(data)
    if root.tag != "coverage":
        raise ValueError("the root element is not <coverage>")
    found = []
    for file in root.iter("file"):
        metrics = file.find("metrics")
        if metrics is None:
            continue
        statements, covered = (
            _int(metrics.get("statements")),
            _int(metrics.get("coveredstatements")),
        )
        conditionals = _int(metrics.get("conditionals"))
        covered_conditionals = _int(metrics.get("coveredconditionals"))
        found.append(
            FileCoverage(
                file.get("path") or file.get("name") or "",
                lines_covered=min(covered, statements),
                lines_missed=max(0, statements - covered),
                branches_covered=min(covered_conditionals, conditionals),
                branches_missed=max(0, conditionals - covered_conditionals),
            )
        )
    return found


def _simplecov(data: bytes) -> list[FileCoverage]:
    """SimpleCov's .resultset.json: {command: {"coverage": {file: {"lines": [...],
    "branches": {...}} or [...]}}} (not simplecov-json's format, as AWS says)."""
    document = json.loads(data)
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object of test commands")
    found = []
    for run in document.values():
        for name, entry in (run.get("coverage") or {}).items():
            lines = entry.get("lines", []) if isinstance(entry, dict) else entry
            item = FileCoverage(str(name))
            for hits in lines:
                if hits is None or hits == "ignored":
                    continue
                if int(hits) > 0:
                    item.lines_covered += 1
                else:
                    item.lines_missed += 1
            branches = entry.get("branches") if isinstance(entry, dict) else None
            for outcomes in (branches or {}).values():
                for hits in outcomes.values():
                    if int(hits) > 0:
                        item.branches_covered += 1
                    else:
                        item.branches_missed += 1
            found.append(item)
    return found


# -- a build's coverage report ----------------------------------------------------------


def finish_report(
    report: Report, file_format: str, files: list[tuple[Path, str]], log: Callable[[str], None]
) -> None:
    """Read the report's files into report.code_coverages and its summary; a file that
    cannot be read fails the report (the others still count)."""
    merged: dict[str, FileCoverage] = {}
    broken = False
    for path, name in files:
        try:
            found = parse(file_format, path, name)
        except CoverageFileError as error:
            broken = True
            log(f"Report {report.name}: {error}")
            continue
        for item in found:
            merged.setdefault(item.file_path, FileCoverage(item.file_path)).add(item)
    items = list(merged.values())
    report.code_coverages = [_coverage_entry(report, item) for item in items]
    report.coverage_summary = summary(items)
    report.status = "FAILED" if broken else "SUCCEEDED"
    log(
        f"Report {report.name}: code coverage of {len(items)} file(s), line coverage "
        f"{report.coverage_summary['lineCoveragePercentage']}%"
    )


def _coverage_entry(report: Report, item: FileCoverage) -> dict:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{report.arn}#{item.file_path}")),
        "reportARN": report.arn,
        "filePath": item.file_path or "-",
        "lineCoveragePercentage": item.line_percentage,
        "linesCovered": item.lines_covered,
        "linesMissed": item.lines_missed,
        "branchCoveragePercentage": item.branch_percentage,
        "branchesCovered": item.branches_covered,
        "branchesMissed": item.branches_missed,
        "expired": report.expired,
    }


# -- the operations ---------------------------------------------------------------------

_page = core.pager(err.InvalidInputException, "Invalid pagination token")

# GetReportGroupTrend's fields: how each is read from a report (None: not in that report).
_TREND_FIELDS: dict[str, Callable[[Report], float | None]] = {
    "PASS_RATE": lambda r: _pass_rate(r),
    "DURATION": lambda r: _test_total(r, "durationInNanoSeconds"),
    "TOTAL": lambda r: _test_total(r, None),
    "LINE_COVERAGE": lambda r: _coverage_value(r, "lineCoveragePercentage"),
    "LINES_COVERED": lambda r: _coverage_value(r, "linesCovered"),
    "LINES_MISSED": lambda r: _coverage_value(r, "linesMissed"),
    "BRANCH_COVERAGE": lambda r: _coverage_value(r, "branchCoveragePercentage"),
    "BRANCHES_COVERED": lambda r: _coverage_value(r, "branchesCovered"),
    "BRANCHES_MISSED": lambda r: _coverage_value(r, "branchesMissed"),
}


def _pass_rate(report: Report) -> float | None:
    if report.type != "TEST" or not report.test_cases:
        return None
    passed = sum(1 for case in report.test_cases if case["status"] == "SUCCEEDED")
    return round(100.0 * passed / len(report.test_cases), 2)


def _test_total(report: Report, key: str | None) -> float | None:
    if report.type != "TEST":
        return None
    if key is None:
        return len(report.test_cases)
    return sum(case[key] for case in report.test_cases)


def _coverage_value(report: Report, key: str) -> float | None:
    return None if report.coverage_summary is None else report.coverage_summary[key]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(round(value, 2))


def _backend(handler: LabHandlers) -> CodeBuildLabBackend:
    return codebuild_lab_backends[handler.current_account][handler.region]


class CoverageHandlers(LabHandlers):
    def describe_code_coverages(self, params: dict) -> dict:
        low = params.get("minLineCoveragePercentage")
        high = params.get("maxLineCoveragePercentage")
        if low is not None and high is not None and low > high:
            raise err.InvalidInputException(
                "minLineCoveragePercentage must not be greater than maxLineCoveragePercentage"
            )
        # The model names no ResourceNotFoundException here: an unknown report has none.
        report = _backend(self).reports.get(params["reportArn"])
        entries = [
            entry
            for entry in (report.code_coverages if report is not None else [])
            if (low is None or entry["lineCoveragePercentage"] >= low)
            and (high is None or entry["lineCoveragePercentage"] <= high)
        ]
        key = "filePath" if params.get("sortBy") == "FILE_PATH" else "lineCoveragePercentage"
        entries.sort(
            key=lambda entry: (entry[key], entry["filePath"]),
            reverse=params.get("sortOrder") == "DESCENDING",
        )
        page, token = _page(entries, params)
        return core.with_token({"codeCoverages": page}, token)

    def get_report_group_trend(self, params: dict) -> dict:
        backend = _backend(self)
        group = backend.get_report_group(params["reportGroupArn"])
        read = _TREND_FIELDS[params["trendField"]]
        reports = sorted(
            (
                r
                for r in backend.reports.values()
                if r.group_arn == group.arn and r.status != "GENERATING"
            ),
            key=lambda r: r.created,
            reverse=True,
        )[: params.get("numOfReports") or 100]
        values = [(report, read(report)) for report in reports]
        present = [(report, value) for report, value in values if value is not None]
        reply: dict = {
            "rawData": [{"reportArn": r.arn, "data": _number(value)} for r, value in present]
        }
        if present:
            numbers = [value for _, value in present]
            reply["stats"] = {
                "average": _number(sum(numbers) / len(numbers)),
                "max": _number(max(numbers)),
                "min": _number(min(numbers)),
            }
        return reply
