from itertools import islice

from helpers.polling import pauses


def test_pauses_start_quick_and_settle_at_the_poll_interval():
    assert list(islice(pauses(1.0), 7)) == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert list(islice(pauses(0.02), 3)) == [0.02, 0.02, 0.02]
