import threading
from itertools import islice

from helpers.emulator import changes
from helpers.polling import Pauses, pauses


def test_pauses_start_quick_and_settle_at_the_poll_interval():
    assert list(islice(pauses(1.0), 7)) == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert list(islice(pauses(0.02), 3)) == [0.02, 0.02, 0.02]


def test_a_change_of_the_local_aws_in_this_process_ends_a_pause():
    pause = Pauses(3600.0, first=3600.0)  # an hour: only a change can end it in this test
    threading.Timer(0.01, changes.changed).start()
    assert pause.sleep() is True
    changes.changed()  # during the poll that followed: the next pause ends at once
    assert pause.sleep() is True


def test_without_changes_a_pause_lasts_its_length_and_wake_ends_it():
    pause = Pauses(0.02, first=0.01)
    assert pause.sleep() is False
    assert pause.sleep() is False
    slow = Pauses(3600.0, first=3600.0)
    threading.Timer(0.01, slow.wake).start()  # a stop request from another thread
    assert slow.sleep() is True
