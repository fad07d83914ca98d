from __future__ import annotations

import pytest

from learnloop.exceptions import ConfigurationError
from learnloop.settings import DEFAULT_CONTENT_TYPES, Settings


def test_defaults_follow_the_stage() -> None:
    settings = Settings.from_env({"LEARNLOOP_STAGE": "prod"})
    assert settings.table_prefix == "learnloop-prod-"
    assert settings.bucket == "learnloop-prod"
    assert settings.endpoint_url is None
    assert settings.content_types == DEFAULT_CONTENT_TYPES


def test_everything_is_read_from_the_given_mapping() -> None:
    settings = Settings.from_env(
        {
            "LEARNLOOP_STAGE": "x",
            "LEARNLOOP_TABLE_PREFIX": "p-",
            "LEARNLOOP_BUCKET": "bkt",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
            "AWS_REGION": "eu-west-1",
            "LEARNLOOP_CONTENT_TYPES": "meme, podcast",
            "LEARNLOOP_DAY_SHARDS": "8",
            "LEARNLOOP_PSEUDONYM_SECRET": "s3cret",
        }
    )
    assert settings.table_name("events") == "p-events"
    assert settings.region == "eu-west-1"
    assert settings.content_types == ("meme", "podcast")
    assert settings.day_shards == 8
    assert settings.pseudonym_secret == "s3cret"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.stage = "other"  # type: ignore[misc]


@pytest.mark.parametrize("value", ["zero", "0"])
def test_bad_numbers_are_configuration_errors(value: str) -> None:
    with pytest.raises(ConfigurationError, match="LEARNLOOP_DAY_SHARDS"):
        Settings.from_env({"LEARNLOOP_DAY_SHARDS": value})


def test_the_dynamodb_read_timeout_comes_from_the_environment() -> None:
    from learnloop.store.tables import Tables

    settings = Settings.from_env({"LEARNLOOP_READ_TIMEOUT_SECONDS": "600"})
    assert settings.read_timeout_seconds == 600.0
    client = Tables(settings).ledger._get_connection().connection._client
    assert client.meta.config.read_timeout == 600.0
    with pytest.raises(ConfigurationError, match="LEARNLOOP_READ_TIMEOUT_SECONDS"):
        Settings.from_env({"LEARNLOOP_READ_TIMEOUT_SECONDS": "0"})


def test_drift_settings_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.drift_window_days, defaults.drift_min_rows, defaults.drift_bins) == (7, 50, 10)
    assert (defaults.drift_psi_threshold, defaults.drift_r2_tolerance) == (0.2, 0.1)
    assert defaults.drift_auc_tolerance == 0.05
    settings = Settings.from_env(
        {
            "LEARNLOOP_DRIFT_WINDOW_DAYS": "14",
            "LEARNLOOP_DRIFT_MIN_ROWS": "200",
            "LEARNLOOP_DRIFT_BINS": "5",
            "LEARNLOOP_DRIFT_PSI_THRESHOLD": "0.25",
            "LEARNLOOP_DRIFT_R2_TOLERANCE": "0.05",
            "LEARNLOOP_DRIFT_AUC_TOLERANCE": "0.02",
        }
    )
    assert (settings.drift_window_days, settings.drift_min_rows, settings.drift_bins) == (
        14,
        200,
        5,
    )
    assert settings.drift_psi_threshold == 0.25
    assert (settings.drift_r2_tolerance, settings.drift_auc_tolerance) == (0.05, 0.02)
    for name in ("LEARNLOOP_DRIFT_WINDOW_DAYS", "LEARNLOOP_DRIFT_BINS"):
        with pytest.raises(ConfigurationError):
            Settings.from_env({name: "1" if name.endswith("BINS") else "0"})


def test_promotion_settings_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert (defaults.promotion_policy, defaults.promotion_tolerance) == ("not_worse", 0.01)
    assert defaults.max_production_age_days == 7.0
    assert defaults.promotion_bootstrap_resamples == 500
    settings = Settings.from_env(
        {
            "LEARNLOOP_PROMOTION_POLICY": "never",
            "LEARNLOOP_PROMOTION_TOLERANCE": "0.02",
            "LEARNLOOP_MAX_PRODUCTION_AGE_DAYS": "3.5",
            "LEARNLOOP_PROMOTION_BOOTSTRAP_RESAMPLES": "200",
        }
    )
    assert (settings.promotion_policy, settings.promotion_tolerance) == ("never", 0.02)
    assert (settings.max_production_age_days, settings.promotion_bootstrap_resamples) == (3.5, 200)
    with pytest.raises(ConfigurationError, match="LEARNLOOP_PROMOTION_POLICY"):
        Settings.from_env({"LEARNLOOP_PROMOTION_POLICY": "sometimes"})


def test_policy_evaluation_settings_come_from_the_environment() -> None:
    defaults = Settings.from_env({})
    assert defaults.policy_promotion_margin == 0.0 and defaults.policy_candidates == ()
    assert defaults.policy_evaluation_days == 7
    settings = Settings.from_env(
        {
            "LEARNLOOP_POLICY_PROMOTION_MARGIN": "0.005",
            # specs hold commas, so candidates are separated by semicolons
            "LEARNLOOP_POLICY_CANDIDATES": "thompson:prior=2/8,discount=0.9; ucb1:epsilon=0.1;",
            "LEARNLOOP_POLICY_EVALUATION_DAYS": "14",
        }
    )
    assert settings.policy_promotion_margin == 0.005
    assert settings.policy_candidates == ("thompson:prior=2/8,discount=0.9", "ucb1:epsilon=0.1")
    assert settings.policy_evaluation_days == 14


def test_sentiment_source_weights_from_the_environment() -> None:
    from learnloop.settings import DEFAULT_SENTIMENT_SOURCE_WEIGHTS

    assert dict(Settings().sentiment_source_weights) == {
        "news": 0.4,
        "twitter": 0.3,
        "reddit": 0.2,
        "telegram": 0.1,
    }
    assert Settings().sentiment_source_weights == DEFAULT_SENTIMENT_SOURCE_WEIGHTS
    env = {
        "LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS": "News=0.5, discord=0.25",
        "LEARNLOOP_SENTIMENT_UNKNOWN_SOURCE_WEIGHT": "0",
    }
    settings = Settings.from_env(env)
    assert settings.sentiment_source_weights == (("news", 0.5), ("discord", 0.25))
    assert settings.sentiment_unknown_source_weight == 0.0
    for bad in ("news", "news=-1", "news=x", "=1", "news=inf"):
        with pytest.raises(ConfigurationError, match="LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS"):
            Settings.from_env({"LEARNLOOP_SENTIMENT_SOURCE_WEIGHTS": bad})
