"""tests/scheduling.py: which tests xdist keeps together, and in what order they start."""

from __future__ import annotations

import re
from pathlib import Path

from tests import scheduling

ROOT = Path(__file__).resolve().parent.parent


def test_a_module_s_functions_share_one_scope_and_a_class_has_its_own():
    assert scheduling.scope_of("tests/test_x.py::test_y") == "tests/test_x.py"
    assert scheduling.scope_of("tests/test_x.py::TestY::test_z[1]") == "tests/test_x.py::TestY"
    assert scheduling.scope_of("labs/01_codecommit.ipynb::Cell 3") == "labs/01_codecommit.ipynb"


def test_a_parameter_holding_colons_stays_in_its_module():
    nodeid = 'tests/test_x.py::test_y[{"Type": "AWS::ECS::Service"}]'
    assert scheduling.scope_of(nodeid) == "tests/test_x.py"


def test_each_test_of_the_split_modules_is_a_scope_of_its_own():
    module = scheduling.ONE_SCOPE_PER_TEST[0]
    first, second = f"{module}::test_a[01.ipynb]", f"{module}::test_a[02.ipynb]"
    assert scheduling.ordered_scopes([first, second]) == {first: [first], second: [second]}


def test_split_modules_have_no_fixture_wider_than_a_test():
    """A module-scoped fixture in a split module would be set up once per worker."""
    for module in scheduling.ONE_SCOPE_PER_TEST:
        source = (ROOT / module).read_text()
        assert not re.search(r"scope\s*=", source), f"{module} has a wider fixture"


def test_the_course_run_starts_first_then_slow_tests_and_notebooks():
    assert scheduling.rank(scheduling.FIRST[0], slow=True) == 0
    assert scheduling.rank("solutions/04_codepipeline.ipynb", slow=False) == 1
    assert scheduling.rank("tests/test_x.py", slow=True) == 1
    assert scheduling.rank("tests/test_x.py", slow=False) == 2
