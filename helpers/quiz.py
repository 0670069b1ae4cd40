"""Check-your-understanding questions that answer themselves in the notebook.

    quiz.ask(
        "What starts the pipeline when you push?",
        ("An EventBridge rule on the repository's reference events", True, "Yes: ..."),
        ("CodePipeline polls the repository every minute", False, "Not for V2 ..."),
    )

Each answer is (text, right or not, why). The learner picks one and reads why it is right
or not; every answer explains itself, so a wrong pick teaches too. Exactly one is right.
Without a widget frontend (a terminal, nbval) the question prints as text.
"""

from __future__ import annotations

from dataclasses import dataclass

Answer = tuple[str, bool, str]


@dataclass(frozen=True)
class Question:
    text: str
    answers: tuple[Answer, ...]

    def __post_init__(self) -> None:
        if sum(right for _, right, _ in self.answers) != 1:
            raise ValueError(f"exactly one answer must be right: {self.text}")
        if len(self.answers) < 2 or any(not why.strip() for _, _, why in self.answers):
            raise ValueError(f"every answer needs its explanation: {self.text}")

    def feedback(self, index: int) -> str:
        """The one line the learner reads after picking answers[index]."""
        _, right, why = self.answers[index]
        return f"\u2714 Right. {why}" if right else f"\u2718 Not quite. {why}"

    def _ipython_display_(self) -> None:
        """ask() has shown the question: a cell ending in quiz.ask(...) adds no Out[] repr."""

    def as_text(self) -> str:
        letters = "abcdefgh"
        lines = [self.text] + [f"  {letters[i]}) {a[0]}" for i, a in enumerate(self.answers)]
        return "\n".join(lines)


def ask(text: str, *answers: Answer) -> Question:
    """Show the question with its answers as buttons; a pick shows its explanation."""
    question = Question(text, tuple(answers))
    _show(question)
    return question


def _show(question: Question) -> None:
    import ipywidgets as widgets
    from IPython.display import display

    choices = widgets.RadioButtons(
        options=[(answer[0], i) for i, answer in enumerate(question.answers)],
        value=None,
        layout=widgets.Layout(width="auto"),
        style={"description_width": "0px"},
    )
    feedback = widgets.HTML()

    def picked(change: dict) -> None:
        if change["new"] is not None:
            feedback.value = _html(question.feedback(change["new"]))

    choices.observe(picked, names="value")
    box = widgets.VBox([widgets.HTML(f"<b>{_escape(question.text)}</b>"), choices, feedback])
    box.add_class("lab-quiz")
    feedback.add_class("lab-quiz-feedback")
    # The widget where a frontend draws widgets; the question and its answers as text where
    # none does (a terminal, a notebook viewer, nbval's record).
    bundle = box._repr_mimebundle_() or {}
    bundle["text/plain"] = question.as_text()
    display(bundle, raw=True)


def _html(line: str) -> str:
    color = "#1e7e34" if line.startswith("\u2714") else "#a94442"
    return f'<span style="color:{color}">{_escape(line)}</span>'


def _escape(text: str) -> str:
    import html

    return html.escape(text)
