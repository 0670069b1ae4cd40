"""The greeting service: the application the labs store, build, test and deploy."""

VERSION = "1.0"


def greet(name: str) -> str:
    name = name.strip() or "world"
    return f"Hello, {name}!"


def render_page(name: str = "learner") -> str:
    """The page the deployed service shows."""
    return f"<html><body><h1>{greet(name)}</h1><p>version {VERSION}</p></body></html>\n"
