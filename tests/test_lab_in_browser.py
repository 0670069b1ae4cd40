"""A learner's path through a whole lab in the browser: labs/01_codecommit.ipynb, exercises
untouched, Run All in JupyterLab in headless Chromium. It runs to its end with every
prompt numbered (none left blank or waiting), no traceback anywhere, each unfinished
exercise saying "Not yet" in one line, the diagram drawn and the questions answering."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.jupyterlab import (
    chromium_page,
    needs_chromium,
    open_notebook,
    run_all_cells,
    running_jupyterlab,
)

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "labs" / "01_codecommit.ipynb"
LABS = sorted((ROOT / "labs").glob("*.ipynb"))

pytestmark = [pytest.mark.slow, needs_chromium]


def test_untouched_lab_runs_to_its_end_without_a_traceback(tmp_path):
    from playwright.sync_api import expect

    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(LAB, root / LAB.name)  # running marks it dirty: autosave writes the copy
    notebook = nbformat.read(LAB, as_version=4)
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    exercises = sum("exercise" in cell.metadata.get("tags", []) for cell in notebook.cells)

    with running_jupyterlab(tmp_path, root) as (url, token), chromium_page() as page:
        open_notebook(page, url, token, LAB.name)
        run_all_cells(page)
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
        last = prompts.nth(code_cells - 1)
        expect(last).to_have_text(f"[{code_cells}]:", timeout=240_000)

        texts = [prompts.nth(i).text_content() for i in range(code_cells)]
        assert texts == [f"[{i}]:" for i in range(1, code_cells + 1)], texts
        page_text = page.locator(".jp-Notebook").text_content()
        assert "Traceback" not in page_text
        assert page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0
        assert page_text.count("\u2718 Not yet:") == exercises

        # The diagram is drawn by JupyterLab's Mermaid renderer (an image), not left as source.
        page.locator(".jp-RenderedMermaid img").first.scroll_into_view_if_needed()
        expect(page.locator(".jp-RenderedMermaid img").first).to_be_visible()
        # A question answers itself: each pick shows why; one of them is right.
        question = page.locator(".lab-quiz").last
        question.scroll_into_view_if_needed()
        options = question.locator(".widget-radio-box label")
        feedback = question.locator(".lab-quiz-feedback")
        verdicts, shown = [], ""
        for index in range(options.count()):
            options.nth(index).click()
            # The kernel answers each pick: until it has, the line still shows the last
            # pick's explanation (each answer has its own), which must not be read as this one's.
            if shown:
                expect(feedback).not_to_have_text(shown, timeout=30_000)
            expect(feedback).to_contain_text(re.compile(r"Right\.|Not quite\."), timeout=30_000)
            shown = feedback.inner_text()
            verdicts.append("Right." in shown)
        assert len(verdicts) >= 2 and verdicts.count(True) == 1, verdicts
        page.screenshot(path=str(tmp_path / "lab01.png"), full_page=False)


def test_every_lab_renders_its_diagram_and_no_stray_latex(tmp_path):
    """Opened in JupyterLab, each lab's markdown shows its Mermaid diagram as a picture and
    no text typeset as LaTeX (a `$` pair in a paragraph would be)."""
    from playwright.sync_api import expect

    root = tmp_path / "root"
    root.mkdir()
    for lab in LABS:
        shutil.copy(lab, root / lab.name)
    with running_jupyterlab(tmp_path, root) as (url, token), chromium_page() as page:
        for lab in LABS:
            # Alone in a reset workspace: JupyterLab would otherwise reopen (and draw again)
            # every lab opened before, and an earlier lab's diagram would answer for this one.
            open_notebook(page, url, token, lab.name, reset_workspace=True)
            notebook = page.locator(".jp-NotebookPanel")
            expect(notebook).to_have_count(1)
            diagram = notebook.locator(".jp-RenderedMermaid img")
            expect(diagram.first).to_be_attached(timeout=30_000)
            page.wait_for_timeout(1_000)  # MathJax typesets after the markdown is drawn
            typeset = notebook.locator(".jp-MarkdownOutput mjx-container").count()
            assert typeset == 0, f"{lab.name}: {typeset} pieces of markdown typeset as LaTeX"
