"""The contract every bandit in ``BANDITS`` meets, whatever its algorithm."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from learnloop.bandits.base import Bandit
from learnloop.bandits.policies import BANDITS
from learnloop.exceptions import LearnloopError, NotFittedError, ValidationError

ARMS = ["a", "b", "c"]
PROBABILITIES = {"a": 0.2, "b": 0.5, "c": 0.8}

pytestmark = pytest.mark.parametrize("name", sorted(BANDITS))


def make(name: str, **kwargs: object) -> Bandit:
    return BANDITS[name](arms=kwargs.pop("arms", list(ARMS)), random_state=0, **kwargs)


def random_batch(n: int, seed: int) -> tuple[list[str], list[float]]:
    rng = np.random.default_rng(seed)
    return [ARMS[i] for i in rng.integers(len(ARMS), size=n)], rng.integers(2, size=n).tolist()


def test_registry_holds_bandit_classes(name: str) -> None:
    assert issubclass(BANDITS[name], Bandit)


def test_init_only_stores_hyperparameters(name: str) -> None:
    bandit = BANDITS[name](arms=["x", "x"])  # invalid, but only fit validates
    assert bandit.arms == ["x", "x"]
    assert not hasattr(bandit, "arms_")


def test_fit_returns_self_and_predict_shapes(name: str) -> None:
    bandit = make(name)
    assert bandit.fit(*random_batch(30, seed=1)) is bandit
    assert bandit.arms_ == ARMS
    assert bandit.predict() in ARMS
    expectations = bandit.predict_expectations()
    assert list(expectations) == ARMS
    assert all(isinstance(v, float) for v in expectations.values())


def test_fit_without_data_starts_from_priors(name: str) -> None:
    bandit = make(name).fit([], [])
    assert bandit.predict() in ARMS


@pytest.mark.parametrize("method", ["predict", "predict_expectations"])
def test_unfitted_bandit_raises(name: str, method: str) -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(make(name), method)()


def test_unfitted_add_arm_raises(name: str) -> None:
    with pytest.raises(NotFittedError):
        make(name).add_arm("d")


def test_not_fitted_error_is_a_learnloop_error(name: str) -> None:
    assert issubclass(NotFittedError, LearnloopError)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_unknown_arm_raises_and_names_its_index(name: str, method: str) -> None:
    bandit = make(name).fit([], [])
    with pytest.raises(ValidationError) as caught:
        getattr(bandit, method)(["a", "b", "zzz"], [1, 0, 1])
    assert caught.value.details[0]["index"] == 2
    assert caught.value.details[0]["field"] == "decisions[2]"
    assert "zzz" in caught.value.details[0]["message"]


def test_a_rejected_batch_changes_nothing(name: str) -> None:
    bandit = make(name).fit(*random_batch(20, seed=2))
    before = make(name).fit(*random_batch(20, seed=2)).predict_expectations()
    with pytest.raises(ValidationError):
        bandit.partial_fit(["a", "nope"], [1, 1])
    assert bandit.predict_expectations() == before


def test_length_mismatch_raises(name: str) -> None:
    with pytest.raises(ValidationError, match="2 decisions but 1 rewards"):
        make(name).fit(["a", "b"], [1])


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_reward_raises(name: str, bad: float) -> None:
    with pytest.raises(ValidationError) as caught:
        make(name).fit(["a", "b"], [1, bad])
    assert caught.value.details[0]["field"] == "rewards[1]"


@pytest.mark.parametrize("arms", [[], ["a", "a"], ["a", ""], "abc", ["a", 3]])
def test_bad_arms_raise_at_fit(name: str, arms: object) -> None:
    with pytest.raises(ValidationError):
        make(name, arms=arms).fit([], [])


def test_add_arm(name: str) -> None:
    bandit = make(name).fit(*random_batch(30, seed=3))
    assert bandit.add_arm("d") is bandit
    assert bandit.arms_ == [*ARMS, "d"]
    assert bandit.arms == ARMS  # the hyperparameter is left as given
    assert "d" in bandit.predict_expectations()
    bandit.partial_fit(["d"], [1])
    with pytest.raises(ValidationError):
        bandit.add_arm("a")


def test_reproducible_with_random_state(name: str, simulate, bernoulli_env) -> None:
    runs = [
        simulate(make(name), bernoulli_env(PROBABILITIES), horizon=300, seed=5) for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_refit_forgets_earlier_data(name: str) -> None:
    twice = make(name).fit(*random_batch(50, seed=4)).fit(*random_batch(30, seed=5))
    once = make(name).fit(*random_batch(30, seed=5))
    assert twice.predict_expectations() == once.predict_expectations()


def test_partial_fit_before_fit_is_fit(name: str) -> None:
    assert (
        make(name).partial_fit(*random_batch(30, seed=6)).predict_expectations()
        == make(name).fit(*random_batch(30, seed=6)).predict_expectations()
    )


def test_partial_fit_equals_fit_on_concatenated_data(name: str) -> None:
    decisions, rewards = random_batch(130, seed=7)
    incremental = make(name).fit(decisions[:60], rewards[:60])
    incremental.partial_fit(decisions[60:100], rewards[60:100])
    incremental.partial_fit([], [])
    incremental.partial_fit(decisions[100:], rewards[100:])
    whole = make(name).fit(decisions, rewards)
    # Same random_state and no draws since fit: the same scores, draws included.
    got, want = incremental.predict_expectations(), whole.predict_expectations()
    assert list(got) == list(want)
    np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-12)
    assert incremental.predict() == whole.predict()


def test_converges_to_best_arm(name: str, simulate, bernoulli_env) -> None:
    chosen = simulate(make(name), bernoulli_env(PROBABILITIES), horizon=2000, seed=11)
    late = Counter(chosen[-500:])
    assert late.most_common(1)[0][0] == "c"
    assert late["c"] / 500 >= 0.8
