"""CodeBuild code coverage reports (code-coverage-report.md): JaCoCo, Cobertura, Clover and
SimpleCov files become CODE_COVERAGE reports; DescribeCodeCoverages; GetReportGroupTrend."""

from __future__ import annotations

import base64
import json
import sys

import pytest
from botocore.exceptions import ClientError

from helpers.emulator import workers
from helpers.emulator.codebuild import coverage

ROLE = "arn:aws:iam::123456789012:role/codebuild-lab"
ENVIRONMENT = {
    "type": "LINUX_CONTAINER",
    "image": "aws/codebuild/standard:7.0",
    "computeType": "BUILD_GENERAL1_SMALL",
}
GROUP = "arn:aws:codebuild:us-east-1:123456789012:report-group/cov-coverage"

JACOCO = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
<report name="demo">
  <package name="com/example">
    <sourcefile name="App.java">
      <counter type="INSTRUCTION" missed="3" covered="30"/>
      <counter type="BRANCH" missed="1" covered="3"/>
      <counter type="LINE" missed="2" covered="8"/>
    </sourcefile>
    <sourcefile name="Util.java">
      <counter type="LINE" missed="5" covered="5"/>
    </sourcefile>
  </package>
  <counter type="LINE" missed="7" covered="13"/>
</report>
"""

COBERTURA = """<?xml version="1.0" ?>
<coverage line-rate="0.75" branch-rate="0.5" version="7.0">
  <packages><package name="app"><classes>
    <class name="main.py" filename="app/main.py" line-rate="0.75">
      <methods/>
      <lines>
        <line number="1" hits="1"/>
        <line number="2" hits="3" branch="true" condition-coverage="50% (1/2)"/>
        <line number="3" hits="0"/>
        <line number="4" hits="1"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>
"""

CLOVER = """<?xml version="1.0" encoding="UTF-8"?>
<coverage generated="1"><project timestamp="1">
  <metrics statements="10" coveredstatements="9" conditionals="4" coveredconditionals="2"/>
  <package name="src">
    <file name="a.js" path="/app/src/a.js">
      <metrics statements="6" coveredstatements="6" conditionals="2" coveredconditionals="1"/>
    </file>
    <file name="b.js" path="/app/src/b.js">
      <metrics statements="4" coveredstatements="3" conditionals="2" coveredconditionals="1"/>
    </file>
  </package>
</project></coverage>
"""

SIMPLECOV = json.dumps(
    {
        "RSpec": {
            "coverage": {
                "/app/lib/a.rb": {
                    "lines": [1, 1, None, 0, 2],
                    "branches": {"[:if, 0, 2, 4, 2, 8]": {"[:then, 1]": 1, "[:else, 2]": 0}},
                },
                "/app/lib/b.rb": [0, None, 1],
            },
            "timestamp": 1,
        }
    }
)


@pytest.fixture
def cb(client):
    workers.set_synchronous(True)
    yield client("codebuild")
    workers.set_synchronous(None)


def buildspec(content: str, file_format: str, name: str = "coverage.xml") -> str:
    encoded = base64.b64encode(content.encode()).decode()
    return (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f"      - echo {encoded} | base64 -d > {name}\n"
        f"reports:\n  coverage:\n    files:\n      - {name}\n    file-format: {file_format}\n"
    )


def run_project(cb, spec: str, name: str = "cov") -> dict:
    try:
        cb.create_project(
            name=name,
            source={"type": "NO_SOURCE", "buildspec": spec},
            artifacts={"type": "NO_ARTIFACTS"},
            environment=ENVIRONMENT,
            serviceRole=ROLE,
        )
    except ClientError:
        cb.update_project(name=name, source={"type": "NO_SOURCE", "buildspec": spec})
    build_id = cb.start_build(projectName=name)["build"]["id"]
    return cb.batch_get_builds(ids=[build_id])["builds"][0]


def coverage_report(cb, spec: str) -> dict:
    build = run_project(cb, spec)
    assert build["buildStatus"] == "SUCCEEDED"
    return cb.batch_get_reports(reportArns=build["reportArns"])["reports"][0]


@pytest.mark.parametrize(
    "content, file_format, summary",
    [
        (JACOCO, "JACOCOXML", (65.0, 13, 7, 75.0, 3, 1)),
        (COBERTURA, "COBERTURAXML", (75.0, 3, 1, 50.0, 1, 1)),
        (CLOVER, "CLOVERXML", (90.0, 9, 1, 50.0, 2, 2)),
        (SIMPLECOV, "SIMPLECOV", (66.67, 4, 2, 50.0, 1, 1)),
    ],
)
def test_coverage_formats_make_code_coverage_reports(cb, content, file_format, summary):
    report = coverage_report(cb, buildspec(content, file_format))
    assert report["type"] == "CODE_COVERAGE"
    assert report["status"] == "SUCCEEDED"
    assert report["reportGroupArn"] == GROUP
    group = cb.batch_get_report_groups(reportGroupArns=[GROUP])["reportGroups"][0]
    assert group["type"] == "CODE_COVERAGE"
    got = report["codeCoverageSummary"]
    assert (
        got["lineCoveragePercentage"],
        got["linesCovered"],
        got["linesMissed"],
        got["branchCoveragePercentage"],
        got["branchesCovered"],
        got["branchesMissed"],
    ) == summary


def test_describe_code_coverages_sorts_filters_and_pages(cb):
    report = coverage_report(cb, buildspec(JACOCO, "JACOCOXML"))
    arn = report["arn"]
    files = cb.describe_code_coverages(reportArn=arn)["codeCoverages"]
    assert [(f["filePath"], f["lineCoveragePercentage"]) for f in files] == [
        ("com/example/Util.java", 50.0),
        ("com/example/App.java", 80.0),
    ]
    assert files[1]["branchesCovered"] == 3 and files[1]["reportARN"] == arn
    by_path = cb.describe_code_coverages(reportArn=arn, sortBy="FILE_PATH", sortOrder="DESCENDING")
    assert [f["filePath"] for f in by_path["codeCoverages"]] == [
        "com/example/Util.java",
        "com/example/App.java",
    ]
    high = cb.describe_code_coverages(reportArn=arn, minLineCoveragePercentage=60)
    assert [f["filePath"] for f in high["codeCoverages"]] == ["com/example/App.java"]
    low = cb.describe_code_coverages(reportArn=arn, maxLineCoveragePercentage=60)
    assert [f["filePath"] for f in low["codeCoverages"]] == ["com/example/Util.java"]
    first = cb.describe_code_coverages(reportArn=arn, maxResults=1)
    assert len(first["codeCoverages"]) == 1 and first["nextToken"]
    rest = cb.describe_code_coverages(reportArn=arn, maxResults=1, nextToken=first["nextToken"])
    assert rest["codeCoverages"][0]["filePath"] == "com/example/App.java"
    assert "nextToken" not in rest
    with pytest.raises(ClientError) as caught:
        cb.describe_code_coverages(
            reportArn=arn, minLineCoveragePercentage=70, maxLineCoveragePercentage=10
        )
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    unknown = arn.rsplit(":", 1)[0] + ":00000000-0000-0000-0000-000000000000"
    assert cb.describe_code_coverages(reportArn=unknown)["codeCoverages"] == []


def test_report_group_trend_for_coverage_and_tests(cb):
    coverage_report(cb, buildspec(JACOCO, "JACOCOXML"))
    coverage_report(
        cb, buildspec(CLOVER.replace('coveredstatements="6"', 'coveredstatements="2"'), "CLOVERXML")
    )
    trend = cb.get_report_group_trend(reportGroupArn=GROUP, trendField="LINE_COVERAGE")
    assert trend["stats"] == {"average": "57.5", "max": "65", "min": "50"}
    assert len(trend["rawData"]) == 2
    assert trend["rawData"][0]["data"] == "50"  # the newest first
    last = cb.get_report_group_trend(
        reportGroupArn=GROUP, trendField="LINES_COVERED", numOfReports=1
    )
    assert [raw["data"] for raw in last["rawData"]] == ["5"]
    # A test field over a coverage group has no data.
    assert cb.get_report_group_trend(reportGroupArn=GROUP, trendField="PASS_RATE")["rawData"] == []

    junit = (
        "<testsuite name='s'><testcase name='a'/>"
        "<testcase name='b'><failure/></testcase></testsuite>"
    )
    tests_spec = (
        "version: 0.2\nphases:\n  build:\n    commands:\n"
        f'      - echo "{junit}" > junit.xml\n'
        "reports:\n  unit:\n    files:\n      - junit.xml\n"
    )
    run_project(cb, tests_spec, name="tests")
    group = "arn:aws:codebuild:us-east-1:123456789012:report-group/tests-unit"
    rate = cb.get_report_group_trend(reportGroupArn=group, trendField="PASS_RATE")
    assert rate["stats"] == {"average": "50", "max": "50", "min": "50"}
    assert (
        cb.get_report_group_trend(reportGroupArn=group, trendField="TOTAL")["rawData"][0]["data"]
        == "2"
    )
    with pytest.raises(ClientError) as caught:
        cb.get_report_group_trend(reportGroupArn=group + "x", trendField="TOTAL")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_broken_coverage_file_fails_the_report(cb):
    build = run_project(cb, buildspec("<report><package", "JACOCOXML"))
    report = cb.batch_get_reports(reportArns=build["reportArns"])["reports"][0]
    assert report["status"] == "FAILED"
    assert report["codeCoverageSummary"]["linesCovered"] == 0


BOMB = """<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<report><package name="&b;"/></report>"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE report [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<report><package name="&x;"/></report>"""


@pytest.mark.parametrize("document", [BOMB, EXTERNAL])
@pytest.mark.parametrize("with_defusedxml", [True, False])
def test_entities_are_refused(monkeypatch, document, with_defusedxml, tmp_path):
    if not with_defusedxml:
        monkeypatch.setitem(sys.modules, "defusedxml", None)
    elif "defusedxml" not in sys.modules:
        pytest.importorskip("defusedxml")
    path = tmp_path / "bomb.xml"
    path.write_text(document)
    with pytest.raises(coverage.CoverageFileError, match="unsafe XML|undefined entity"):
        coverage.parse("JACOCOXML", path, "bomb.xml")


def test_a_test_group_refuses_coverage_files(client, cb):
    cb.create_report_group(
        name="cov-coverage", type="TEST", exportConfig={"exportConfigType": "NO_EXPORT"}
    )
    build = run_project(cb, buildspec(JACOCO, "JACOCOXML"))
    assert build["reportArns"] == []


def test_coverage_operations_over_http(server_client):
    cb = server_client("codebuild")
    group = cb.create_report_group(
        name="http-coverage", type="CODE_COVERAGE", exportConfig={"exportConfigType": "NO_EXPORT"}
    )["reportGroup"]
    try:
        trend = cb.get_report_group_trend(reportGroupArn=group["arn"], trendField="LINE_COVERAGE")
        assert trend["rawData"] == [] and "stats" not in trend
        report = group["arn"].replace(":report-group/", ":report/") + ":nope"
        assert cb.describe_code_coverages(reportArn=report)["codeCoverages"] == []
    finally:
        cb.delete_report_group(arn=group["arn"])
