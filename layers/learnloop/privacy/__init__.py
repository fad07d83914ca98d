"""Privacy: pseudonymized training exports, the admin export, deletion and its purge job.

- ``exports``: the daily ``export_training_data`` job (contract B); ``rows`` shapes its rows.
- ``deletion``: ``DELETE /v1/users/{id}``: every table at once, export rewrites within a budget.
- ``purge``: the hourly ``privacy_purge`` job that finishes pending export rewrites.
- ``admin_export``: ``GET /v1/admin/export``.

Consent, tombstones and pseudonyms live one floor down, in :mod:`learnloop.users`.
"""

from __future__ import annotations

__all__: list[str] = []
