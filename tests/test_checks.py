"""Exercise feedback: one line, never a traceback; the solution's answer put in place."""

from __future__ import annotations

import nbformat
import pytest

from helpers import checks, quiz


def run_as_cell(source: str, namespace: dict) -> None:
    exec(compile(source, "<cell>", "exec"), namespace)


@pytest.fixture
def solutions(tmp_path, monkeypatch):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                metadata={"tags": ["exercise"], "exercise": "double"},
            )
        ]
    )
    nbformat.write(notebook, tmp_path / "01_demo.ipynb")
    monkeypatch.setattr(checks, "SOLUTIONS", tmp_path)
    monkeypatch.delenv("LAB_CHECKS", raising=False)
    return tmp_path


CHECK = (
    "with checks.exercise('double'):\n"
    "    checks.check(double(2) == 4, 'double(2) is 4.', f'double(2) gave {double(2)!r}.')\n"
)


def test_placeholder_at_a_cells_top_level_says_what_to_do(capsys):
    run_as_cell("checks.todo()", {"checks": checks})
    out = capsys.readouterr().out
    assert out.startswith("\u270e Not yet: replace `checks.todo()`") and out.count("\n") == 1


def test_untouched_function_gets_one_line_and_the_solution(solutions, capsys):
    namespace = {"checks": checks}
    run_as_cell("def double(x):\n    checks.todo()\n", namespace)
    run_as_cell(CHECK, namespace)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "\u2718 Not yet: `double` still holds `checks.todo()`: write its body in the cell above."
    )
    assert "solution's answer is in place" in lines[1] and len(lines) == 2
    assert namespace["double"](5) == 10  # later cells work
    assert checks.history[-1] == ("double", False)


def test_wrong_answer_says_what_is_wrong(solutions, capsys):
    namespace = {"checks": checks}
    run_as_cell("def double(x):\n    return x + 1\n", namespace)
    run_as_cell(CHECK, namespace)
    assert capsys.readouterr().out.splitlines()[0] == "\u2718 Not yet: double(2) gave 3."


def test_an_error_in_the_answer_is_one_line_too(solutions, capsys):
    namespace = {"checks": checks}
    run_as_cell("def double(x):\n    return {}['x']\n", namespace)
    run_as_cell(CHECK, namespace)
    assert capsys.readouterr().out.splitlines()[0] == (
        "\u2718 Not yet: your answer raised KeyError: 'x'"
    )


def test_a_missing_variable_asks_for_the_exercise_cell(solutions, capsys):
    namespace = {"checks": checks}
    run_as_cell(CHECK, namespace)
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("\u2718 Not yet: name 'double' is not defined: run the exercise")


def test_right_answer_passes(solutions, capsys):
    namespace = {"checks": checks}
    run_as_cell("def double(x):\n    return x * 2\n", namespace)
    run_as_cell(CHECK, namespace)
    assert capsys.readouterr().out == "\u2714 double(2) is 4.\n"
    assert checks.history[-1] == ("double", True)


def test_strict_mode_raises_and_no_fallback_leaves_the_answer(solutions, monkeypatch, capsys):
    namespace = {"checks": checks}
    run_as_cell("def double(x):\n    return x\n", namespace)
    monkeypatch.setenv("LAB_CHECKS", "strict")
    with pytest.raises(checks.CheckFailed):
        run_as_cell(CHECK, namespace)
    monkeypatch.setenv("LAB_CHECKS", "no-fallback")
    run_as_cell(CHECK, namespace)
    assert namespace["double"](3) == 3
    assert "in place" not in capsys.readouterr().out


def test_defined_says_the_variable_is_not_set_yet():
    with pytest.raises(checks.CheckFailed, match="`answer` is not set yet: keep the reply"):
        checks.defined({}, "answer", "keep the reply.")


def test_a_question_has_one_right_answer_and_every_answer_explains():
    question = quiz.Question("Q?", (("a", True, "because"), ("b", False, "not that")))
    assert question.feedback(0) == "\u2714 Right. because"
    assert question.feedback(1) == "\u2718 Not quite. not that"
    with pytest.raises(ValueError, match="exactly one"):
        quiz.Question("Q?", (("a", True, "x"), ("b", True, "y")))
    with pytest.raises(ValueError, match="explanation"):
        quiz.Question("Q?", (("a", True, "x"), ("b", False, " ")))


def test_a_question_shows_as_text_where_no_widget_is_drawn(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda bundle, raw: shown.append(bundle))
    quiz.ask("Q?", ("a", True, "because"), ("b", False, "not that"))
    [bundle] = shown
    assert bundle["text/plain"] == "Q?\n  a) a\n  b) b"
    assert "application/vnd.jupyter.widget-view+json" in bundle
