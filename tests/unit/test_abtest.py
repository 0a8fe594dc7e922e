"""The A/B test's statistics: planned sample sizes, intervals, and error rates by simulation."""

import random

import numpy as np
import pytest

from mlops.serving import abtest
from mlops.serving.abtest import Arm


def bernoulli_arm(successes: int, n: int) -> Arm:
    return Arm(n=n, total=float(successes), squares=float(successes))


def test_sample_size_matches_the_two_proportion_formula():
    # 50% vs 60% at alpha 0.05 and power 0.8: the textbook answer is 388 per arm.
    assert abtest.required_per_arm(0.5, 0.1, 0.05, 0.8, classification=True) == 388
    # A smaller effect needs quadratically more.
    assert abtest.required_per_arm(0.5, 0.05, 0.05, 0.8, classification=True) > 4 * 388 * 0.95


def test_sample_size_near_perfect_accuracy_looks_downwards_and_never_goes_below_the_floor():
    near_perfect = abtest.required_per_arm(0.99, 0.05, 0.05, 0.8, classification=True)
    assert near_perfect >= abtest.MIN_PER_ARM
    assert abtest.required_per_arm(0.6, 0.5, 0.05, 0.8, classification=True) == abtest.MIN_PER_ARM


def test_regression_sample_size_grows_with_the_champions_rmse():
    small = abtest.required_per_arm(1.0, 0.2, 0.05, 0.8, classification=False)
    assert small == pytest.approx(2 * (1.959964 + 0.841621) ** 2 / 0.04, abs=1)
    assert abtest.required_per_arm(2.0, 0.2, 0.05, 0.8, classification=False) == pytest.approx(4 * small, abs=4)


def test_wilson_interval_of_eight_out_of_ten():
    low, high = abtest.interval(bernoulli_arm(8, 10), 0.05, classification=True)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)


def test_running_sums_give_the_sample_mean_and_variance():
    values = [random.Random(3).gauss(2, 0.5) for _ in range(200)]
    arm = Arm()
    for value in values:
        arm.add(value)
    assert arm.mean == pytest.approx(np.mean(values)) and arm.variance == pytest.approx(np.var(values, ddof=1))


def test_no_decision_before_both_arms_are_full_however_large_the_gap():
    decision, why, _ = abtest.verdict(bernoulli_arm(10, 100), bernoulli_arm(99, 99), 100, 0.05, classification=True)
    assert decision == "collecting" and "99 of 100" in why


def test_a_clear_win_promotes_a_clear_loss_rolls_back_a_tie_keeps_the_champion():
    champion = bernoulli_arm(600, 1000)
    assert abtest.verdict(champion, bernoulli_arm(700, 1000), 400, 0.05, True)[0] == "promote"
    assert abtest.verdict(champion, bernoulli_arm(500, 1000), 400, 0.05, True)[0] == "rollback"
    decision, why, comparison = abtest.verdict(champion, bernoulli_arm(610, 1000), 400, 0.05, True)
    assert decision == "keep_champion" and comparison["p_value"] > 0.05
    low, high = comparison["interval"]
    assert low < 0.01 < high


def test_for_regression_lower_error_wins():
    rng = np.random.default_rng(5)
    champion, challenger = Arm(), Arm()
    for value in np.abs(rng.normal(0, 1.0, 500)):
        champion.add(float(value))
    for value in np.abs(rng.normal(0, 0.6, 500)):
        challenger.add(float(value))
    decision, _, comparison = abtest.verdict(champion, challenger, 100, 0.05, classification=False)
    assert decision == "promote" and comparison["difference"] < 0


def simulated_decisions(p_champion: float, p_challenger: float, required: int, trials: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    champions, challengers = rng.binomial(required, p_champion, trials), rng.binomial(required, p_challenger, trials)
    return [
        abtest.verdict(bernoulli_arm(int(a), required), bernoulli_arm(int(b), required), required, 0.05, True)[0]
        for a, b in zip(champions, challengers, strict=True)
    ]


def test_with_no_true_difference_the_false_decision_rate_is_alpha():
    required = abtest.required_per_arm(0.7, 0.05, 0.05, 0.8, classification=True)
    decisions = simulated_decisions(0.7, 0.7, required, trials=4000, seed=11)
    false_rate = sum(d != "keep_champion" for d in decisions) / len(decisions)
    # 4000 trials: the rate's standard error is 0.0034, so this band is about +-3 of them.
    assert 0.04 <= false_rate <= 0.06


def test_with_the_minimum_effect_the_test_has_its_planned_power():
    required = abtest.required_per_arm(0.7, 0.05, 0.05, 0.8, classification=True)
    decisions = simulated_decisions(0.7, 0.75, required, trials=4000, seed=12)
    power = sum(d == "promote" for d in decisions) / len(decisions)
    assert 0.77 <= power <= 0.83


def test_checking_every_hour_does_not_inflate_false_decisions_the_way_peeking_does():
    """A/A tests checked every 100 outcomes per arm: stopping at the first p < alpha (peeking)
    decides wrongly far more often than alpha; the verdict, asked just as often, does not."""
    required, looks, trials = 1000, range(100, 1001, 100), 1000
    rng = np.random.default_rng(13)
    peeking_wrong = verdict_wrong = 0
    for _ in range(trials):
        a, b = rng.random(required) < 0.7, rng.random(required) < 0.7
        arms = [(bernoulli_arm(int(a[:n].sum()), n), bernoulli_arm(int(b[:n].sum()), n)) for n in looks]
        peeking_wrong += any(abtest.compare(x, y, 0.05, True)["p_value"] < 0.05 for x, y in arms)
        decisions = [abtest.verdict(x, y, required, 0.05, True)[0] for x, y in arms]
        verdict_wrong += next(d for d in decisions if d != "collecting") != "keep_champion"
    assert peeking_wrong / trials > 0.12
    assert verdict_wrong / trials < 0.07


# --- the sequential design (mSPRT): may stop at any check, validly ------------------------------------


def run_sequential(p_champion: float, p_challenger: float, required: int, every: int, effect: float, rng) -> tuple[str, int]:
    """One test checked every `every` outcomes per arm until it decides: (decision, outcomes per arm)."""
    horizon = abtest.SEQUENTIAL_HORIZON * required
    a, b = np.cumsum(rng.random(horizon) < p_champion), np.cumsum(rng.random(horizon) < p_challenger)
    previous = 1.0
    for n in [*range(every, horizon, every), horizon]:
        decision, _, comparison = abtest.sequential_verdict(
            bernoulli_arm(int(a[n - 1]), n), bernoulli_arm(int(b[n - 1]), n), required, 0.05, effect, previous, True
        )
        previous = comparison["always_valid_p"]
        if decision != "collecting":
            return decision, n
    raise AssertionError("the horizon must end the test")


def test_checked_fifty_times_with_no_true_difference_the_sequential_test_stays_within_alpha():
    # Given A/A tests checked every 40 outcomes per arm, up to twice the fixed design's sample
    required = abtest.required_per_arm(0.7, 0.05, 0.05, 0.8, classification=True)
    rng = np.random.default_rng(21)
    # When each runs until it decides
    decisions = [run_sequential(0.7, 0.7, required, 40, 0.05, rng)[0] for _ in range(1000)]
    # Then it calls a difference at most alpha of the time (1000 trials: standard error 0.007)
    false_rate = sum(d != "keep_champion" for d in decisions) / len(decisions)
    assert false_rate <= 0.05 + 0.015, false_rate


def test_a_clear_difference_stops_the_sequential_test_well_before_the_fixed_horizon():
    # Given a challenger twice the minimum effect better
    required = abtest.required_per_arm(0.7, 0.05, 0.05, 0.8, classification=True)
    rng = np.random.default_rng(22)
    runs = [run_sequential(0.7, 0.8, required, 40, 0.05, rng) for _ in range(300)]
    # Then it promotes nearly always, and typically with far fewer outcomes than the fixed design waits for
    assert sum(d == "promote" for d, _ in runs) / len(runs) > 0.95
    stopped_at = sorted(n for _, n in runs)
    assert stopped_at[len(stopped_at) // 2] < required / 2, (stopped_at[len(stopped_at) // 2], required)


def test_the_always_valid_p_value_only_falls():
    champion, challenger = bernoulli_arm(700, 1000), bernoulli_arm(800, 1000)
    low = abtest.always_valid_p(champion, challenger, 0.05, 1.0, True)
    assert low < 0.001
    # a later check that looks less different cannot raise it: it is a running minimum
    assert abtest.always_valid_p(bernoulli_arm(1400, 2000), bernoulli_arm(1410, 2000), 0.05, low, True) == low
    # and below 30 outcomes per arm nothing is computed
    assert abtest.always_valid_p(bernoulli_arm(5, 20), bernoulli_arm(20, 20), 0.05, 1.0, True) == 1.0


def bandit_run(rng: random.Random, champion_rate: float, challenger_rate: float, bandit: bool, checks: int = 60) -> tuple[float, str]:
    """A sequential test checked up to `checks` times, 100 labelled requests between checks, split
    evenly or by the bandit; returns the share of right answers served, and how it ended."""
    champion, challenger, share, served_right, p_value = Arm(), Arm(), 50, 0.0, 1.0
    required = abtest.required_per_arm(champion_rate, 0.05, 0.05, 0.8, True)
    for _ in range(checks):
        for _ in range(100):
            arm, rate = (challenger, challenger_rate) if rng.random() * 100 < share else (champion, champion_rate)
            outcome = float(rng.random() < rate)
            arm.add(outcome)
            served_right += outcome
        if bandit:
            decision, _, comparison, share = abtest.bandit_verdict(champion, challenger, required, 0.05, 0.05, p_value, 5, True)
        else:
            decision, _, comparison = abtest.sequential_verdict(champion, challenger, required, 0.05, 0.05, p_value, True)
        p_value = comparison["always_valid_p"]
        if decision != "collecting":
            break
    return served_right / (champion.n + challenger.n), decision


def test_the_bandit_serves_more_right_answers_than_an_even_split_and_still_promotes():
    """Champion right 70% of the time, challenger 80%: the same sequential test with an even split
    serves 75% right answers while it runs; the bandit leans to the challenger as evidence comes."""
    rng = random.Random(21)
    bandit = [bandit_run(rng, 0.7, 0.8, bandit=True) for _ in range(30)]
    even = [bandit_run(rng, 0.7, 0.8, bandit=False) for _ in range(30)]
    reward, even_reward = float(np.mean([r for r, _ in bandit])), float(np.mean([r for r, _ in even]))
    promoted = sum(decision == "promote" for _, decision in bandit)
    print(f"right answers served: bandit {reward:.3f}, even split {even_reward:.3f}; the bandit promoted in {promoted} of 30")
    assert reward > even_reward + 0.01 and promoted >= 27


def test_the_bandit_keeps_the_sequential_tests_error_rate_for_an_equal_challenger():
    rng = random.Random(22)
    outcomes = [decision for _, decision in (bandit_run(rng, 0.75, 0.75, bandit=True, checks=30) for _ in range(100))]
    wrong = outcomes.count("promote") + outcomes.count("rollback")
    print(f"equal arms, 100 bandit tests checked 30 times: {wrong} decided a difference")
    assert wrong <= 9  # alpha 0.05: 5 expected, 2.2 sd
