"""The tiny reverse-the-word translate run, trained once per session for these tests."""

from __future__ import annotations

import pytest
from translate_helpers import train_reverse_run


@pytest.fixture(scope="session")
def reverse_run(tmp_path_factory):
    return train_reverse_run(tmp_path_factory.mktemp("reverse"))
