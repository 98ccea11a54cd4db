"""The one fork pool: every item's records reach the parent once, whoever did the work."""

from __future__ import annotations

import os
import time

import pytest

from digestgen.errors import DigestgenError
from digestgen.forkpool import run_forked


def test_every_item_is_worked_once_and_its_records_reach_the_parent():
    got: list[tuple[int, int]] = []

    def work(n: int):
        time.sleep(0.001)
        return [(n, os.getpid())]

    run_forked(list(range(200)), work, 2, got.append)
    assert sorted(n for n, _ in got) == list(range(200))
    assert os.getpid() not in {pid for _, pid in got}  # the children did the work


def test_a_workers_error_is_raised_in_the_parent_as_one_line():
    def work(n: int):
        if n == 7:
            raise DigestgenError("paper 7 is unreadable")
        return [n]

    with pytest.raises(DigestgenError, match="paper 7 is unreadable"):
        run_forked(list(range(20)), work, 2, lambda record: None)
