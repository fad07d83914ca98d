"""The developer tooling behind the ``learnloop`` command; it never enters a Lambda layer.

- ``cli``: the command (``learnloop up | demo | job run | train | keys | models | deploy …``).
- ``local``: the embedded stack: moto's server, the Chalice app, the schedules, local state.
- ``demo``: the simulated world with a hidden truth that ``make run`` drives over HTTP.
- ``deploy``: Lambda layers and function zips, the CloudFormation template, LocalStack.
"""

from __future__ import annotations

__all__: list[str] = []
