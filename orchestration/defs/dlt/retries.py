"""Retry the dlt assets on transient source or storage errors, with exponential backoff.

``dagster-dlt``'s ``@dlt_assets`` takes no ``retry_policy``, and a job-wide ``op_retry_policy``
would also retry dbt runs whose models or tests failed for real. So the dlt assets declare this
policy and apply it themselves: a *transient* error (network, timeouts, a lost Iceberg commit race)
becomes ``dg.RetryRequested`` with the policy's backoff; anything else fails the step at once.
Retrying is safe: dlt finishes a pending load package first and the ledger makes every business
date load exactly once.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

import dagster as dg

RAW_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}
_TRANSIENT_NAMES = {
    # by name, so no optional client library has to be importable here
    "EndpointConnectionError",  # botocore
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ServiceUnavailable",
    "SlowDown",
    "ConnectionError",  # requests
    "Timeout",
}


def is_transient(exc: BaseException) -> bool:
    """True if ``exc`` or anything it was raised from is worth retrying after a pause."""
    from pyiceberg.exceptions import CommitFailedException  # pyiceberg only once a step failed

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, CommitFailedException | TimeoutError):
            return True
        if isinstance(current, ConnectionError):
            return True
        if isinstance(current, OSError) and current.errno in _TRANSIENT_ERRNOS:
            return True
        if type(current).__name__ in _TRANSIENT_NAMES:
            return True
        current = current.__cause__ or current.__context__
    return False


def retry_delay(retry_number: int, policy: dg.RetryPolicy = RAW_RETRY_POLICY) -> float:
    """Seconds to wait before retry ``retry_number + 1`` (exponential, with jitter)."""
    return float(policy.calculate_delay(retry_number + 1))


@contextlib.contextmanager
def retry_transient_errors(
    context: dg.AssetExecutionContext, policy: dg.RetryPolicy = RAW_RETRY_POLICY
) -> Iterator[None]:
    """Turn a transient error in the block into a retry of the step, per ``policy``."""
    try:
        yield
    except Exception as exc:
        if not is_transient(exc) or context.retry_number >= policy.max_retries:
            raise
        wait = retry_delay(context.retry_number, policy)
        context.log.warning(
            f"transient error ({type(exc).__name__}: {exc}); retry "
            f"{context.retry_number + 1}/{policy.max_retries} in {wait:.0f}s"
        )
        raise dg.RetryRequested(max_retries=policy.max_retries, seconds_to_wait=wait) from exc
