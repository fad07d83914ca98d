"""Users: who may be stored and under which name: consent, deletion tombstones, pseudonyms.

Every concept that writes or serves a user's data asks here first (ingest drops opted-out and
deleted users; recommendations and experiments leave them out). Importing this package loads
nothing heavy (no numpy): ingest's cold path uses the consent check.
"""

from __future__ import annotations

from learnloop.users.consent import ConsentCache, dropped_users, excluded_pseudonyms, set_consent
from learnloop.users.pseudonym import pseudonymize

__all__ = [
    "ConsentCache",
    "dropped_users",
    "excluded_pseudonyms",
    "pseudonymize",
    "set_consent",
]
