"""Rows a resumable job read in one invocation, kept in S3 for the invocations after it.

A unit that reads part of a job's input (one day of a window) writes what it read as one
gzipped JSON object under the run's prefix, ``checkpoints/{job}/{run_id}/``; later units read
the objects back instead of the tables. The objects belong to the run: the job drops the
prefix when it finishes (a run that is abandoned leaves them to the bucket's lifecycle).

What is spooled must name no user (no id, no pseudonym): deleting a user does not look here
(``docs/privacy.md``). ``learn`` spools content and outcomes, rows about decisions (posts);
a job that needs user rows between invocations must make deletion reach them first.

JSON rather than ``npz``: the rows are the stored attributes themselves (strings and
numbers), so a resumed run trains on exactly the values an uninterrupted one reads, text
included, and Python's float repr round-trips every float bit for bit.

Examples
--------
>>> spool = RunSpool(s3, "bucket", "learn", "3f2a9c1b7e44")  # doctest: +SKIP
>>> spool.put("window/2026-11-20", [["d-1", 0.5]])  # doctest: +SKIP
'checkpoints/learn/3f2a9c1b7e44/window/2026-11-20.json.gz'
>>> spool.get("window/2026-11-20")  # doctest: +SKIP
[['d-1', 0.5]]
"""

from __future__ import annotations

import gzip
import json
from typing import Any

#: Where the runs' spools live in the stage's bucket.
SPOOL_PREFIX = "checkpoints/"


class RunSpool:
    """One run's objects: ``put``/``get`` JSON rows by name, ``drop`` them all."""

    def __init__(self, s3: Any, bucket: str, job: str, run_id: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.prefix = f"{SPOOL_PREFIX}{job}/{run_id}/"

    def key(self, name: str) -> str:
        """The object key of ``name``."""
        return f"{self.prefix}{name}.json.gz"

    def put(self, name: str, rows: Any) -> str:
        """Store ``rows`` (JSON-ready) as ``name``; a repeat overwrites with the same bytes."""
        body = gzip.compress(json.dumps(rows, separators=(",", ":")).encode(), mtime=0)
        key = self.key(name)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return key

    def get(self, name: str) -> Any:
        """The rows stored as ``name``."""
        body = self.s3.get_object(Bucket=self.bucket, Key=self.key(name))["Body"].read()
        return json.loads(gzip.decompress(body))

    def drop(self) -> int:
        """Delete every object of the run; returns how many."""
        dropped = 0
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                dropped += len(keys)
        return dropped


__all__ = ["SPOOL_PREFIX", "RunSpool"]
