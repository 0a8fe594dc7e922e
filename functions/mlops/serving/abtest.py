"""The A/B test of a challenger against the champion, judged on ground truth sent to /feedback.

A fixed-horizon design. The sample size per arm is fixed when the test starts, before any
feedback is seen, from the champion's metric at training time, the smallest effect worth
detecting, alpha and power. Until both arms reach it the verdict is "collecting", however far
apart the arms look: stopping the first time a difference looks significant (peeking) multiplies
the false-positive rate. The first check after both arms are full runs one two-sided test and
decides; that stopping rule depends on counts only, never on outcomes, so it adds no bias.

Or a sequential design (`rollout.ab.design: sequential`) that may stop at any check, validly: a
mixture sequential probability ratio test (mSPRT) on the difference of the arms' means, with a
normal mixing distribution whose spread is the minimum detectable effect. Its p-value is
"always valid": the running minimum of 1/likelihood ratio over every check so far, so however often
it is looked at, the chance it ever falls below alpha under no difference stays at most alpha. It
decides as soon as that happens; when both arms reach SEQUENTIAL_HORIZON times the fixed design's
sample without it, the champion stays.

Or a bandit (`design: bandit`): Thompson sampling moves the challenger's share towards the arm
likelier to be better at every check, for teams that want more of the traffic on the better arm
while the test runs; it stops by the sequential design's always-valid test.

Whatever the design, results per segment (a categorical feature the spec names) are reported with
intervals, corrected for the number of segments.

Per prediction the outcome is 1 or 0 for a right or wrong label (metric: accuracy, higher is
better) or the absolute error of a value (metric: mean absolute error, lower is better).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from mlops.shared.multiple_testing import correct

# Below this many outcomes per arm the normal approximations behind the test are not trusted.
MIN_PER_ARM = 30
# A sequential test gives up (the champion stays) once both arms hold this many times the fixed
# design's sample: an mSPRT needs more than the fixed horizon to reach the same power.
SEQUENTIAL_HORIZON = 2
NORMAL = NormalDist()
CHAMPION_ARM, CHALLENGER_ARM = "champion", "challenger"


@dataclass
class Arm:
    """Running sums of per-prediction outcomes: enough for a mean, a variance and an interval."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, outcome: float) -> None:
        self.n += 1
        self.total += outcome
        self.squares += outcome * outcome

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        if self.n < 2:
            return math.nan
        return max(self.squares - self.n * self.mean**2, 0.0) / (self.n - 1)


def outcome_of(predicted: dict[str, Any], actual: Any, classification: bool) -> float:
    if classification:
        return 1.0 if str(predicted.get("label")) == str(actual) else 0.0
    return abs(float(predicted["value"]) - float(actual))


def required_per_arm(baseline: float, effect: float, alpha: float, power: float, classification: bool) -> int:
    """Outcomes each arm needs to detect `effect` with this power at this alpha (two-sided).

    classification: baseline is the champion's accuracy, the two-proportion formula applies.
    regression: baseline is the champion's RMSE, which bounds the spread of absolute errors
    (Var|e| = RMSE^2 - MAE^2), so the size errs on the safe side.
    """
    z_alpha, z_power = NORMAL.inv_cdf(1 - alpha / 2), NORMAL.inv_cdf(power)
    if classification:
        p1 = min(max(baseline, 0.0), 1.0)
        p2 = p1 + effect if p1 + effect <= 1 else p1 - effect
        mean = (p1 + p2) / 2
        spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
        n = spread**2 / effect**2
    else:
        n = 2 * (z_alpha + z_power) ** 2 * baseline**2 / effect**2
    return max(MIN_PER_ARM, math.ceil(n))


def interval(arm: Arm, alpha: float, classification: bool) -> list[float]:
    """Wilson score interval for an accuracy; the normal interval for a mean error."""
    if arm.n == 0:
        return []
    z = NORMAL.inv_cdf(1 - alpha / 2)
    if classification:
        p, n = arm.mean, arm.n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return [centre - half, centre + half]
    if arm.n < 2:
        return []
    half = z * math.sqrt(arm.variance / arm.n)
    return [arm.mean - half, arm.mean + half]


def arm_summary(arm: Arm, alpha: float, classification: bool) -> dict[str, Any]:
    """An arm as the experiment record shows it: its count, mean and interval."""
    return {"n": arm.n, "mean": arm.mean if arm.n else None, "interval": interval(arm, alpha, classification)}


def compare(champion: Arm, challenger: Arm, alpha: float, classification: bool) -> dict[str, Any]:
    """Challenger minus champion: the difference, its interval, and the two-sided p-value.

    Accuracy: a pooled two-proportion z-test (the interval uses unpooled variances). Mean error:
    Welch's test, read from the normal distribution (both arms hold at least MIN_PER_ARM).
    """
    difference = challenger.mean - champion.mean
    z_alpha = NORMAL.inv_cdf(1 - alpha / 2)
    if classification:
        pooled = (champion.total + challenger.total) / (champion.n + challenger.n)
        test_se = math.sqrt(pooled * (1 - pooled) * (1 / champion.n + 1 / challenger.n))
        se = math.sqrt(champion.mean * (1 - champion.mean) / champion.n + challenger.mean * (1 - challenger.mean) / challenger.n)
    else:
        se = test_se = math.sqrt(champion.variance / champion.n + challenger.variance / challenger.n)
    if test_se == 0:
        p_value = 1.0 if difference == 0 else 0.0
    else:
        p_value = 2 * (1 - NORMAL.cdf(abs(difference) / test_se))
    return {"difference": difference, "interval": [difference - z_alpha * se, difference + z_alpha * se], "p_value": p_value}


def verdict(champion: Arm, challenger: Arm, required: int, alpha: float, classification: bool) -> tuple[str, str, dict[str, Any]]:
    """(decision, why, comparison): decision is collecting, promote, rollback or keep_champion."""
    if min(champion.n, challenger.n) < required:
        why = f"{champion.n} and {challenger.n} of {required} outcomes per arm; no decision before both are full"
        return "collecting", why, {}
    comparison = compare(champion, challenger, alpha, classification)
    stated = f"{_means(champion, challenger, classification)}, p = {comparison['p_value']:.3g}"
    if comparison["p_value"] >= alpha:
        return "keep_champion", f"no significant difference ({stated}); the champion stays", comparison
    return _significant(comparison, stated, classification)


def _means(champion: Arm, challenger: Arm, classification: bool) -> str:
    metric = "accuracy" if classification else "mean absolute error"
    return f"challenger {metric} {challenger.mean:.4g} vs champion {champion.mean:.4g}"


def _significant(comparison: dict[str, Any], stated: str, classification: bool) -> tuple[str, str, dict[str, Any]]:
    """A significant difference promotes a better challenger and rolls back a worse one."""
    better = _challenger_better(comparison, classification)
    return ("promote", f"challenger better ({stated})", comparison) if better else ("rollback", f"challenger worse ({stated})", comparison)


def _challenger_better(comparison: dict[str, Any], classification: bool) -> bool:
    """Accuracy is better higher, a mean absolute error lower."""
    return comparison["difference"] > 0 if classification else comparison["difference"] < 0


def always_valid_p(champion: Arm, challenger: Arm, effect: float, previous: float, classification: bool) -> float:
    """The mSPRT's always-valid p-value after this check: min(previous, 1 / Lambda).

    Lambda = sqrt(V / (V + tau^2)) * exp(d^2 tau^2 / (2 V (V + tau^2))), for the difference d of the
    means with variance V (each arm's variance over its n) and a N(0, tau^2) mixture, tau = effect.
    """
    if min(champion.n, challenger.n) < MIN_PER_ARM:
        return previous
    if classification:
        variance = champion.mean * (1 - champion.mean) / champion.n + challenger.mean * (1 - challenger.mean) / challenger.n
    else:
        variance = champion.variance / champion.n + challenger.variance / challenger.n
    if variance <= 0:
        return previous
    difference, tau2 = challenger.mean - champion.mean, effect * effect
    log_ratio = 0.5 * math.log(variance / (variance + tau2)) + difference * difference * tau2 / (2 * variance * (variance + tau2))
    return min(previous, math.exp(-log_ratio) if log_ratio < 700 else 0.0)


def sequential_verdict(
    champion: Arm, challenger: Arm, required: int, alpha: float, effect: float, previous: float, classification: bool
) -> tuple[str, str, dict[str, Any]]:
    """(decision, why, comparison) of the sequential design; comparison carries `always_valid_p`,
    which the next check continues from."""
    p_value = always_valid_p(champion, challenger, effect, previous, classification)
    horizon = SEQUENTIAL_HORIZON * required
    if min(champion.n, challenger.n) < MIN_PER_ARM:
        why = f"{champion.n} and {challenger.n} outcomes per arm; no decision before {MIN_PER_ARM} each"
        return "collecting", why, {"always_valid_p": p_value}
    comparison = {**compare(champion, challenger, alpha, classification), "always_valid_p": p_value}
    stated = f"{_means(champion, challenger, classification)}, always-valid p = {p_value:.3g}"
    if p_value < alpha:
        return _significant(comparison, stated, classification)
    if min(champion.n, challenger.n) >= horizon:
        return "keep_champion", f"no significant difference by {horizon} outcomes per arm ({stated}); the champion stays", comparison
    return "collecting", f"{stated}; it may stop at any check, or at {horizon} outcomes per arm", comparison


# --- results per segment --------------------------------------------------------------------


def segments(arms: dict[str, tuple[Arm, Arm]], alpha: float, classification: bool) -> dict[str, Any]:
    """Per value of the spec's segment feature: both arms, the difference with its interval and a
    verdict. Holm's correction across the segments keeps the chance of calling any segment
    different when none is at alpha, so slicing finer does not manufacture findings. Reported
    beside the overall decision, never deciding it."""
    compared = {value: compare(*pair, alpha, classification) for value, pair in arms.items() if min(pair[0].n, pair[1].n) >= MIN_PER_ARM}
    adjusted = dict(zip(compared, correct([c["p_value"] for c in compared.values()]), strict=True))
    results = {}
    for value, (champion, challenger) in sorted(arms.items()):
        entry: dict[str, Any] = {
            CHAMPION_ARM: arm_summary(champion, alpha, classification),
            CHALLENGER_ARM: arm_summary(challenger, alpha, classification),
        }
        if value not in compared:
            results[value] = {**entry, "verdict": "too few outcomes"}
            continue
        comparison = {**compared[value], "p_value_adjusted": adjusted[value]}
        if adjusted[value] >= alpha:
            verdict_of = "no significant difference"
        else:
            verdict_of = "challenger better" if _challenger_better(comparison, classification) else "challenger worse"
        results[value] = {**entry, **comparison, "verdict": verdict_of}
    return results


# --- a multi-armed bandit -------------------------------------------------------------------


def chance_challenger_better(champion: Arm, challenger: Arm, classification: bool) -> float:
    """The posterior chance that the challenger is the better arm, which Thompson sampling gives it
    as its share: Beta(1 + right, 1 + wrong) per arm for accuracy, a normal posterior around each
    arm's mean (its standard error as spread) for a mean absolute error; the difference of the two
    read from the normal distribution (exact enough once an arm holds a few dozen outcomes, and
    cheap: the rollout function has no numpy to draw from the posteriors)."""
    if classification:
        moments = [(1 + arm.total, 1 + arm.n - arm.total) for arm in (champion, challenger)]
        means = [a / (a + b) for a, b in moments]
        variances = [a * b / ((a + b) ** 2 * (a + b + 1)) for a, b in moments]
        lead = means[1] - means[0]
    else:
        if min(champion.n, challenger.n) < 2:
            return 0.5
        variances = [arm.variance / arm.n for arm in (champion, challenger)]
        lead = champion.mean - challenger.mean  # a lower error is better
    spread = math.sqrt(sum(variances))
    return NORMAL.cdf(lead / spread) if spread > 0 else 0.5 + 0.5 * math.copysign(1.0, lead) * (lead != 0)


def bandit_verdict(
    champion: Arm, challenger: Arm, required: int, alpha: float, effect: float, previous: float, min_percent: int, classification: bool
) -> tuple[str, str, dict[str, Any], int]:
    """(decision, why, comparison, the challenger's next share in percent). The share follows the
    posterior chance the challenger is better (probability matching: Thompson sampling per batch),
    each arm keeping at least min_percent. Stopping is the sequential design's always-valid test,
    so moving traffic for reward costs no validity: a posterior above 95% checked at every look
    would promote an equal challenger far more often than alpha (tests/unit/test_abtest.py)."""
    chance = chance_challenger_better(champion, challenger, classification)
    share = round(min(max(chance * 100, min_percent), 100 - min_percent))
    decision, why, comparison = sequential_verdict(champion, challenger, required, alpha, effect, previous, classification)
    comparison = {**comparison, "chance_challenger_better": chance, "challenger_percent": share}
    if decision == "collecting":
        why = f"{why}; chance the challenger is better {chance:.3f}, so it now gets {share}%"
    return decision, why, comparison, share
