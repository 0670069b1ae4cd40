"""Run the unit tests and write a JUnit XML report (no packages needed beyond Python)."""

import sys
import time
import unittest
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as ET

if TYPE_CHECKING:  # typeshed makes TextTestResult generic in its stream; Python does not
    _TextResult = unittest.TextTestResult[Any]
else:
    _TextResult = unittest.TextTestResult


def main() -> int:
    suite = unittest.defaultTestLoader.discover("tests")
    cases = []

    class Recorder(_TextResult):
        def startTest(self, test):
            self._started = time.perf_counter()
            super().startTest(test)

        def _record(self, test, outcome, detail=""):
            cases.append((test, outcome, detail, time.perf_counter() - self._started))

        def addSuccess(self, test):
            super().addSuccess(test)
            self._record(test, "passed")

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._record(test, "failure", self._exc_info_to_string(err, test))

        def addError(self, test, err):
            super().addError(test, err)
            self._record(test, "error", self._exc_info_to_string(err, test))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._record(test, "skipped", reason)

    result = unittest.TextTestRunner(verbosity=2, resultclass=Recorder).run(suite)
    root = ET.Element(
        "testsuite",
        name="greeting",
        tests=str(len(cases)),
        failures=str(len(result.failures)),
        errors=str(len(result.errors)),
        skipped=str(len(result.skipped)),
    )
    for test, outcome, detail, seconds in cases:
        case = ET.SubElement(
            root,
            "testcase",
            classname=type(test).__name__,
            name=test._testMethodName,
            time=f"{seconds:.4f}",
        )
        if outcome != "passed":
            # The exception's own line ("AssertionError: ..."), not a diff marker.
            errors = [line for line in detail.splitlines() if "Error: " in line]
            message = errors[-1].strip() if errors else detail.strip()[:200]
            ET.SubElement(case, outcome, message=message).text = detail
    Path("reports").mkdir(exist_ok=True)
    ET.ElementTree(root).write("reports/junit.xml", encoding="utf-8", xml_declaration=True)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
