"""Optimistic Iceberg commits with retry, for the concurrency tests (production writes through
dlt, and pyiceberg's own commit retries; a lost race there raises ``CommitFailedException``, which
the raw step's retry policy treats as transient).

Iceberg commits are compare-and-swap on the table's metadata pointer: when two writers start
from the same snapshot, the catalog accepts the first and rejects the second with
``CommitFailedException``, and nothing is written half-way. The loser only has to reload the
table (now including the winner's snapshot) and apply its change again; appends commute, so no
commit is lost. This helper does exactly that, with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.table import Table

log = logging.getLogger(__name__)

T = TypeVar("T")


class CommitRetriesExhausted(RuntimeError):
    """Every attempt lost the race; the table is unchanged by this writer."""


def commit_with_retry(
    catalog: Catalog,
    identifier: str | tuple[str, ...],
    write: Callable[[Table], T],
    *,
    attempts: int = 10,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
) -> tuple[T, int]:
    """Call ``write(table)`` on a freshly loaded table until its commit is accepted.

    ``write`` must do the whole change from the table it is given (e.g. ``table.append(batch)``)
    so a retry re-applies it on top of the other writer's snapshot. Returns ``write``'s result and
    the number of retries it took.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be >= 1, got {attempts}")
    for attempt in range(attempts):
        table = catalog.load_table(identifier)
        try:
            return write(table), attempt
        except CommitFailedException as exc:
            if attempt == attempts - 1:
                raise CommitRetriesExhausted(
                    f"commit to {identifier} failed {attempts} times (another writer kept "
                    f"winning): {exc}. Nothing of this change was committed; run it again."
                ) from exc
            delay = min(max_delay, base_delay * 2**attempt) * random.uniform(0.5, 1.5)
            log.info("commit to %s lost a race (%s); retrying in %.2fs", identifier, exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")
