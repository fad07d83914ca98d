"""The journal world of ``learnloop demo --world journal``: simulated traders with a hidden
truth (:mod:`.world`), the HTTP run (:mod:`.driver`), the figures (:mod:`.grade`), the report
(:mod:`.report`) and the same run in one process (:mod:`.offline`)."""

from __future__ import annotations

__all__: list[str] = []
