"""One botocore data loader for every botocore session of the process.

A botocore session parses the JSON of each service model it uses (endpoints.json alone is
over a megabyte), and keeps what it parsed for itself. moto makes sessions of its own
(`boto3.Session().get_available_regions(...)` for each backend, the model of each service
it routes), and under mock_aws every `boto3.client(...)` makes one: a local server in a
kernel parsed again what the learner's clients had parsed, and a test paid ~0.1 s a client.
Sharing the loader shares the parsed models. They are read-only data to botocore and moto,
as they already are for two clients of one session; a different AWS_DATA_PATH gets a
loader of its own.
"""

from __future__ import annotations

import threading

import botocore.loaders
import botocore.session

_create_loader = botocore.loaders.create_loader
_loaders: dict[str | None, botocore.loaders.Loader] = {}
_lock = threading.Lock()


class _SearchPaths(list):
    """Each boto3.Session() appends boto3's data folder to its loader's search paths: with
    one loader for all sessions, once is enough (the list would grow with every session)."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """The loader of every session whose data path is search_path_string."""
    with _lock:
        loader = _loaders.get(search_path_string)
        if loader is None:
            loader = _create_loader(search_path_string)
            loader._search_paths = _SearchPaths(loader.search_paths)
            _loaders[search_path_string] = loader
        return loader


def install() -> None:
    """Sessions made from now on share the loader (botocore.session calls create_loader
    when a session first needs its loader). Idempotent."""
    botocore.session.create_loader = shared_loader
