"""Keyed pseudonyms: what exports, training data and models carry instead of a user id.

A pseudonym is HMAC-SHA256 of the user id under the stage's secret
(``LEARNLOOP_PSEUDONYM_SECRET``): stable, so a model trained on exports can be asked about a
user by id; keyed, so nobody without the secret can map ids to pseudonyms or back.

Examples
--------
>>> p = pseudonymize("u1", "secret")
>>> len(p), p == pseudonymize("u1", "secret"), p == pseudonymize("u1", "other")
(64, True, False)
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonymize(user_id: str, secret: str) -> str:
    """The keyed pseudonym of ``user_id``: hex HMAC-SHA256 under ``secret``.

    Parameters
    ----------
    user_id : str
        The app's user id.
    secret : str
        The stage's pseudonym secret (``Settings.pseudonym_secret``).

    Returns
    -------
    str
        64 lowercase hex characters.

    Examples
    --------
    >>> pseudonymize("u1", "secret")[:16]
    '8a629605d37d74d6'
    """
    return hmac.new(secret.encode("utf-8"), user_id.encode("utf-8"), hashlib.sha256).hexdigest()
