"""Shared fixtures of the unit tests."""

from __future__ import annotations

import pytest
import torch
from hypothesis import settings

# property tests draw the same examples on every run and machine: a submission cannot
# pass or fail CI by the luck of a draw (a failing draw is pinned with @example)
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest on one thread (and do not fight other processes for cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
