"""One BLAS thread for the estimators' tests.

The refit bootstrap of DM and DR is many small matrix products; with a BLAS thread per core on
a machine that other test runs share, the threads spin against each other and those products
run 5-10x slower. threadpoolctl comes with scikit-learn (a dev dependency).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="blas"):
        yield
