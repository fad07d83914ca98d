"""The candle pair → text sentiment symbol rule (learnloop.symbols) and its setting."""

from __future__ import annotations

import pytest

from learnloop.exceptions import ConfigurationError
from learnloop.settings import Settings
from learnloop.symbols import sentiment_symbol


@pytest.mark.parametrize(
    ("pair", "symbol"),
    [
        ("BTC-USD", "BTC"),  # Yahoo
        ("btc-usd", "BTC"),
        ("ETH_USDT", "ETH"),
        ("SOL/EUR", "SOL"),
        ("BTCUSDT", "BTC"),  # Binance: no separator
        ("ETHBUSD", "ETH"),  # the longest quote, not ETHB + USD
        ("USDCUSDT", "USDC"),
        ("1INCH-USD", "1INCH"),
        ("ETH-BTC", "ETH-BTC"),  # crypto quote: its own symbol
        ("AAPL", "AAPL"),  # a stock
        ("USD", "USD"),  # nothing left of a bare quote
        ("XUSD", "XUSD"),  # one character is not a base
        ("BTC-USD-PERP", "BTC-USD-PERP"),  # not a plain pair
    ],
)
def test_the_default_rule(pair: str, symbol: str) -> None:
    assert sentiment_symbol(pair) == symbol


def test_aliases_from_the_setting_override_the_rule() -> None:
    settings = Settings.from_env({"LEARNLOOP_SYMBOL_ALIASES": "xbt-usd=btc, ETH-BTC=ETH"})
    assert settings.symbol_aliases == (("XBT-USD", "BTC"), ("ETH-BTC", "ETH"))
    assert sentiment_symbol("XBT-USD", settings.symbol_aliases) == "BTC"
    assert sentiment_symbol("eth-btc", settings.symbol_aliases) == "ETH"
    assert sentiment_symbol("BTC-USD", settings.symbol_aliases) == "BTC"
    assert Settings.from_env({}).symbol_aliases == ()


@pytest.mark.parametrize("raw", ["BTC", "=BTC", "XBT-USD=", "A=B=C"])
def test_a_malformed_alias_is_a_configuration_error(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="LEARNLOOP_SYMBOL_ALIASES"):
        Settings.from_env({"LEARNLOOP_SYMBOL_ALIASES": raw})
