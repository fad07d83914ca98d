"""Privacy: keyed pseudonyms, consent, deletion and pseudonymized exports."""

from __future__ import annotations

from learnloop.privacy.pseudonym import pseudonymize

__all__ = ["pseudonymize"]
