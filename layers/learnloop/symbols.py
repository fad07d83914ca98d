"""Which text sentiment symbol a candle series is about: one rule, used wherever both meet.

Texts (``POST /v1/texts``) name assets as people write them, ``BTC``; candles (``POST
/v1/market/candles``) name a trading pair, ``BTC-USD``. The price forecast reads the
sentiment of the pair's asset, so it maps the pair with :func:`sentiment_symbol`, the one
place that decides it (the forecast job, serving and forecast drift all call it, through the
version's manifest):

1. an override from ``LEARNLOOP_SYMBOL_ALIASES`` (``XBT-USD=BTC,WBTC-USD=BTC``) wins;
2. a pair written with a separator (``-``, ``_``, ``/``) whose quote is a fiat currency or a
   stablecoin (:data:`QUOTE_CURRENCIES`) maps to its base: ``BTC-USD``, ``eth_usdt``,
   ``SOL/EUR`` → ``BTC``, ``ETH``, ``SOL``;
3. a pair written without one maps to its base when it ends with such a quote and at least
   two characters remain: ``BTCUSDT`` → ``BTC``, ``ETHBUSD`` → ``ETH`` (the longest
   matching quote is taken off, so ``ETHBUSD`` is not ``ETHB`` + ``USD``);
4. anything else is its own symbol, upper-cased: a stock (``AAPL``) or a crypto-to-crypto
   pair (``ETH-BTC``: its price moves with both assets, so no single asset's sentiment is
   "its" sentiment; alias it if one should be).

Examples
--------
>>> sentiment_symbol("BTC-USD"), sentiment_symbol("ethusdt"), sentiment_symbol("ETH-BTC")
('BTC', 'ETH', 'ETH-BTC')
>>> sentiment_symbol("XBT-USD", aliases=(("XBT-USD", "BTC"),))
'BTC'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["QUOTE_CURRENCIES", "sentiment_symbol"]

#: Quotes that carry no sentiment of their own: fiat currencies and USD/EUR stablecoins.
QUOTE_CURRENCIES: frozenset[str] = frozenset(
    {
        # fiat
        "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "KRW", "CNY", "HKD", "SGD",
        "INR", "BRL", "TRY", "MXN", "ZAR", "RUB",
        # stablecoins
        "USDT", "USDC", "BUSD", "DAI", "TUSD", "FDUSD", "USDP", "PYUSD", "GUSD", "EURT", "EURC",
    }
)  # fmt: skip
_BY_LENGTH = sorted(QUOTE_CURRENCIES, key=len, reverse=True)
_SEPARATORS = re.compile(r"[-_/]")


def sentiment_symbol(pair: str, aliases: Iterable[tuple[str, str]] = ()) -> str:
    """The text sentiment symbol of candle symbol ``pair`` (see the module's rules).

    Parameters
    ----------
    pair : str
        A candle symbol: ``BTC-USD``, ``BTCUSDT``, ``AAPL``.
    aliases : iterable of (str, str)
        Overrides, upper-case ``(pair, symbol)``
        (:attr:`learnloop.settings.Settings.symbol_aliases`).

    Returns
    -------
    str
        Upper-case, as texts store their symbols.

    Examples
    --------
    >>> [sentiment_symbol(p) for p in ("sol/eur", "BTCUSDT", "USDCUSDT", "AAPL", "USD")]
    ['SOL', 'BTC', 'USDC', 'AAPL', 'USD']
    """
    key = pair.strip().upper()
    overrides = dict(aliases)
    if key in overrides:
        return overrides[key]
    parts = _SEPARATORS.split(key)
    if len(parts) == 2 and parts[0] and parts[1] in QUOTE_CURRENCIES:
        return parts[0]
    if len(parts) == 1:
        for quote in _BY_LENGTH:
            if key.endswith(quote) and len(key) - len(quote) >= 2:
                return key[: -len(quote)]
    return key
