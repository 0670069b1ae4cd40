"""The server's request threads never run ast.parse at the same time.

CPython 3.11 shares the AST converter's recursion depth between threads, so two parses at
once can fail with "AST constructor recursion depth mismatch" (python/cpython#106905); CI
met it when two first requests made werkzeug compile a moto service's URL rules together.
The race is too rare to provoke, so this test watches the parses the server lets overlap.
"""

from __future__ import annotations

import ast
import threading
import time

from helpers.emulator import server


def test_the_server_lets_one_ast_parse_run_at_a_time(monkeypatch) -> None:
    inside = 0
    most_inside = 0
    count = threading.Lock()

    def slow_parse(source, *args, **kwargs):
        nonlocal inside, most_inside
        with count:
            inside += 1
            most_inside = max(most_inside, inside)
        time.sleep(0.02)  # long enough for the other threads to arrive
        with count:
            inside -= 1
        return ast.Module(body=[], type_ignores=[])

    monkeypatch.setattr(ast, "parse", slow_parse)
    server.LabServerApp()
    threads = [threading.Thread(target=ast.parse, args=("x = 1",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most_inside == 1
    assert ast.parse is not slow_parse  # the server wrapped it
