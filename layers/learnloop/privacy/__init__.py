"""Privacy: keyed pseudonyms, consent, deletion and pseudonymized exports.

Importing this package loads nothing heavy (no numpy): ingest paths use the consent check.
"""

from __future__ import annotations

from learnloop.privacy.consent import (
    ConsentCache,
    dropped_users,
    excluded_pseudonyms,
    set_consent,
)
from learnloop.privacy.pseudonym import pseudonymize

__all__ = [
    "ConsentCache",
    "dropped_users",
    "excluded_pseudonyms",
    "pseudonymize",
    "set_consent",
]
