"""Tell a store fault (throttled, unavailable, unreachable) from a bug, wherever it is raised.

A fault is worth retrying later: the API answers it with 503 and ``Retry-After`` rather than
a bare 500. PynamoDB wraps botocore's errors (``PutError(cause=ClientError)``), and the SDK
raises its own connection errors, so the check walks an exception's causes.

Examples
--------
>>> from botocore.exceptions import ClientError, EndpointConnectionError
>>> throttled = ClientError({"Error": {"Code": "ThrottlingException"}}, "PutItem")
>>> is_store_fault(throttled), is_store_fault(EndpointConnectionError(endpoint_url="x"))
(True, True)
>>> is_store_fault(ClientError({"Error": {"Code": "ValidationException"}}, "PutItem"))
False
>>> is_store_fault(KeyError("a bug"))
False
"""

from __future__ import annotations

#: Error codes DynamoDB and S3 use for "try again later".
RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: Seconds a client is asked to wait before retrying after a store fault.
RETRY_AFTER_SECONDS = 1


def is_store_fault(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the store being throttled, failing or unreachable."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        HTTPClientError,
        ReadTimeoutError,
    )

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | HTTPClientError | ReadTimeoutError):
            return True
        if isinstance(current, ClientError):
            error = current.response.get("Error", {})
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = str(error.get("Code", ""))
            # An emulator's bare HTTP 500 comes back with the status as its code.
            numeric = int(code) if code.isdigit() else 0
            return code in RETRYABLE_CODES or max(int(status or 0), numeric) >= 500
        wrapped = getattr(current, "cause_response_code", None)  # PynamoDB's wrapped errors
        if wrapped in RETRYABLE_CODES:
            return True
        current = current.__cause__ or getattr(current, "cause", None) or current.__context__
    return False


__all__ = ["RETRYABLE_CODES", "RETRY_AFTER_SECONDS", "is_store_fault"]
