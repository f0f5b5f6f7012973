"""The helper processes that make the report faster must never change what it says."""

from __future__ import annotations

import os

from sheetcrm.report.worker import Forked


def _pid_and_sum(numbers):
    return os.getpid(), sum(numbers)


def _boom():
    raise ValueError("the real error")


def test_forked_computes_in_another_process_when_it_can():
    pid, total = Forked(_pid_and_sum, [1, 2, 3]).result()
    assert total == 6
    assert pid != os.getpid()


def test_forked_falls_back_to_computing_here_and_raises_the_real_error():
    import pytest

    with pytest.raises(ValueError, match="the real error"):
        Forked(_boom).result()


def test_forked_without_fork_computes_here(monkeypatch):
    monkeypatch.setattr("multiprocessing.get_all_start_methods", lambda: ["spawn"])
    pid, total = Forked(_pid_and_sum, [4, 5]).result()
    assert (pid, total) == (os.getpid(), 9)
