"""State changes of the local AWS in this process, for whoever polls it from this process.

Offline, lab.setup() runs the local server in a thread of the kernel: a lab helper waiting
for a build, a deployment or a pipeline execution polls a server that can tell it when
something changed. The runtimes call changed() at each state change a poller may wait for
(events.py's state functions; the pipeline engine when an execution goes idle, at a gate,
an approval or a job); a poller gives listen() an Event and waits on it with its usual
pause as the timeout, so its wait ends at the change instead of at the end of the pause.

Nothing else calls changed(): polling real AWS or a server in another process, the Event
is never set and each pause lasts its full length, as before. Imports only threading: the
lab helpers import it on a real account too.
"""

from __future__ import annotations

import threading
import weakref

_listeners: weakref.WeakSet[threading.Event] = weakref.WeakSet()
_lock = threading.Lock()


def listen(wake: threading.Event) -> None:
    """Set wake at every change from now on, for as long as wake exists."""
    with _lock:
        _listeners.add(wake)


def changed() -> None:
    """Something a poller may be waiting for changed: wake every listener."""
    with _lock:
        listeners = list(_listeners)
    for wake in listeners:
        wake.set()
