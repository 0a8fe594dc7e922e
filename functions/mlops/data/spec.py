"""The model spec: what a model is, registered once through PUT /models/{model}.

It names the target and the task, each feature with its type and what values are allowed, the data
rules validation applies, the algorithm, the quality gates and the rollout policy. Invalid specs
are refused with the field at fault (the API turns pydantic's errors into a 422).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Column names as data sets publish them: any characters (spaces, slashes, non-ASCII), up to 128.
MAX_COLUMN_NAME = 128


def _printable_name(name: str) -> str:
    if any(ord(character) < 32 or ord(character) == 127 for character in name):
        raise ValueError("a column name may hold any character but control characters (a tab, a line break)")
    if not name.strip():
        raise ValueError("a column name needs a visible character")
    return name


ColumnName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_COLUMN_NAME, description="a column of the dataset, as its header names it"),
    AfterValidator(_printable_name),
]
# Columns batch scoring adds beside a file's own: no feature or target may take these names.
PREDICTION_ERROR_COLUMN = "prediction_error"


def predicted_column(target: str) -> str:
    return f"predicted_{target}"


def probability_column(label: str) -> str:
    return f"probability_{label}"


# The platform's schedule asks which models are due this often (infra's scheduled-checks rule).
SCHEDULE_MINUTES = 15
HyperValue = int | float | str | bool | None
CLASSIFICATION_ONLY = {"logistic_regression"}
REGRESSION_ONLY = {"ridge"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Profile(_Strict):
    """What the data showed for a feature: a description, never a rule. Values beyond it are
    accepted in training and served (the answer says so), and monitoring counts them."""

    rows: int | None = Field(default=None, ge=0, description="how many sampled rows this profile describes")
    minimum: float | None = Field(default=None, description="numeric: the smallest value seen")
    maximum: float | None = Field(default=None, description="numeric: the largest value seen")
    categories: list[str] | None = Field(default=None, description="categorical: the values seen (the most frequent, when many)")
    distinct: int | None = Field(default=None, ge=0, description="categorical: how many distinct values were seen")
    missing_rate: float | None = Field(default=None, ge=0, le=1, description="share of sampled rows with a missing value")


class Feature(_Strict):
    """A feature and its rules: `minimum`, `maximum` and `categories` are rules an author states
    (outside them a training row is invalid and a prediction refused); `profile` only describes."""

    name: ColumnName
    type: Literal["numeric", "categorical"]
    minimum: float | None = Field(default=None, description="rule, numeric only: smaller values are refused")
    maximum: float | None = Field(default=None, description="rule, numeric only: larger values are refused")
    categories: list[str] | None = Field(
        default=None, min_length=1, description="rule, categorical only: a closed set; any other value is refused"
    )
    nullable: bool = Field(default=False, description="rule: whether a missing value (data.missing_values) is allowed")
    profile: Profile | None = Field(default=None, description="what the data showed (ranges, categories, missing rate): not a rule")
    pii: bool = Field(default=False, description="personal data: hashed or dropped before capture")

    @model_validator(mode="after")
    def _fits_its_type(self) -> Feature:
        if self.type == "categorical" and (self.minimum is not None or self.maximum is not None):
            raise ValueError(f"feature {self.name!r}: minimum/maximum apply to numeric features only")
        if self.type == "numeric" and self.categories is not None:
            raise ValueError(f"feature {self.name!r}: categories apply to categorical features only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"feature {self.name!r}: minimum {self.minimum} is above maximum {self.maximum}")
        if self.categories is not None and len(set(self.categories)) != len(self.categories):
            raise ValueError(f"feature {self.name!r}: categories repeat a value")
        profile = self.profile
        if profile is not None and self.type == "numeric" and profile.categories is not None:
            raise ValueError(f"feature {self.name!r}: a numeric feature's profile has a range, not categories")
        if profile is not None and self.type == "categorical" and (profile.minimum is not None or profile.maximum is not None):
            raise ValueError(f"feature {self.name!r}: a categorical feature's profile has categories, not a range")
        return self


class Target(_Strict):
    name: ColumnName
    task: Literal["binary", "multiclass", "regression"]
    classes: list[str] | None = Field(default=None, min_length=2, description="classification: the allowed labels")

    @model_validator(mode="after")
    def _classes_fit_the_task(self) -> Target:
        if self.task == "regression" and self.classes is not None:
            raise ValueError("target: a regression target has no classes")
        if self.task == "binary" and self.classes is not None and len(self.classes) != 2:
            raise ValueError(f"target: a binary target has exactly 2 classes, not {len(self.classes)}")
        return self


class DataRules(_Strict):
    min_rows: int = Field(default=100, ge=1, description="fewer valid labelled rows than this fails the run")
    max_invalid_row_fraction: float = Field(default=0.05, ge=0, le=1, description="more invalid rows fails the run")
    max_duplicate_row_fraction: float = Field(default=0.5, ge=0, le=1, description="more duplicate rows fails the run")
    min_class_fraction: float = Field(default=0.01, ge=0, le=0.5, description="a rarer class is a warning")
    missing_values: list[Annotated[str, Field(max_length=32)]] = Field(
        default=[],
        max_length=20,
        description="markers of a missing value besides the empty value, NA, N/A, null and NaN (compared without regard to case)",
    )


class SageMakerTraining(_Strict):
    """The SageMaker training job a run uses when its training does not fit a Lambda."""

    instance_type: str = Field(default="ml.m5.2xlarge", pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", description="an x86 training instance")
    # scikit-learn fits on one machine: more instances would cost without helping. Search trials
    # run as parallel jobs instead.
    instance_count: int = Field(default=1, ge=1, le=1, description="scikit-learn fits on one instance; trials run as parallel jobs")
    volume_gb: int = Field(default=30, ge=1, le=16384, description="the instance's storage for the splits it reads")
    max_runtime_minutes: int = Field(default=120, ge=1, le=28 * 24 * 60, description="the job is stopped past this")
    spot: bool = Field(default=False, description="managed spot training: cheaper, may wait and restart from its checkpoint")
    max_wait_minutes: int | None = Field(default=None, ge=1, description="with spot: how long to wait for capacity plus run")

    @model_validator(mode="after")
    def _spot_wait(self) -> SageMakerTraining:
        if self.max_wait_minutes is not None and not self.spot:
            raise ValueError("max_wait_minutes applies to spot training only: set spot: true or leave it out")
        if self.max_wait_minutes is not None and self.max_wait_minutes < self.max_runtime_minutes:
            raise ValueError("max_wait_minutes must be at least max_runtime_minutes")
        return self


class Training(_Strict):
    algorithm: Literal["logistic_regression", "random_forest", "hist_gradient_boosting", "ridge"] = "logistic_regression"
    hyperparameters: dict[str, HyperValue] = {}
    search: list[dict[str, HyperValue]] = Field(
        default=[], max_length=20, description="candidate hyper-parameters tried in parallel; the best on validation goes on"
    )
    seed: int = 20261126
    compute: Literal["auto", "lambda", "sagemaker"] = Field(
        default="auto", description="where fits run: auto picks Lambda below its budget in rows x features, SageMaker above"
    )
    sagemaker: SageMakerTraining = SageMakerTraining()


class QualityGates(_Strict):
    metric: str | None = Field(default=None, description="primary metric for the champion comparison (default by task)")
    minimum: dict[str, float] = Field(default={}, description="metric -> lowest acceptable value, e.g. roc_auc")
    maximum: dict[str, float] = Field(default={}, description="metric -> highest acceptable value, e.g. rmse")
    min_improvement: float = Field(default=0.0, description="how much the candidate must beat the champion by")
    manual_approval: bool = False
    approval_timeout_seconds: int = Field(
        default=7 * 86400,
        ge=1,
        le=7 * 86400,
        description="how long a version waits for a person's decision; then it expires and its artifacts are removed",
    )


class ABTest(_Strict):
    challenger_percent: int = Field(default=50, ge=1, le=99, description="the challenger's share while the test runs")
    minimum_detectable_effect: float = Field(
        default=0.02, gt=0, description="smallest difference worth detecting: in accuracy, or in mean absolute error for regression"
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="false-positive rate of the two-sided test")
    power: float = Field(default=0.8, ge=0.5, lt=1, description="chance to detect a difference of the minimum effect")
    check_seconds: int = Field(default=3600, ge=1, le=86400, description="how often feedback is counted")
    max_seconds: int = Field(default=14 * 86400, ge=60, le=28 * 86400, description="without enough feedback by then the champion stays")
    design: Literal["fixed", "sequential", "bandit"] = Field(
        default="fixed",
        description="fixed: one test once the planned sample is in; sequential: an always-valid test that may stop at any check;"
        " bandit: Thompson sampling moves the challenger's share towards the arm likelier to be better, stopping as sequential does",
    )
    segment: ColumnName | None = Field(default=None, description="a categorical feature whose values get their own results")
    bandit_min_percent: int = Field(default=5, ge=1, le=50, description="bandit: each arm keeps at least this share")


class Guardrails(_Strict):
    """Limits on the challenger that stop any rollout step or A/B test and roll it back."""

    max_errors_per_minute: int = Field(default=1, ge=1, description="failed challenger requests in a minute that stop it")
    max_p99_latency_ms: float = Field(default=250.0, gt=0, description="challenger p99 latency over a minute that stops it")


class Rollout(_Strict):
    strategy: Literal["all_at_once", "canary", "linear", "ab", "shadow", "manual"] = Field(
        default="canary", description="manual: no automatic rollout; traffic moves by PUT /traffic, promote, rollback"
    )
    canary_percent: int = Field(default=10, ge=1, le=99)
    bake_seconds: int = Field(default=600, ge=0, le=86400, description="how long each traffic step serves before it is judged")
    ab: ABTest = ABTest()
    guardrails: Guardrails = Guardrails()


class DriftRules(_Strict):
    min_samples: int = Field(default=500, ge=30, description="fewer captured rows than this: 'not enough data', no verdict")
    alpha: float | None = Field(
        default=None,
        gt=0,
        lt=0.5,
        description="a fixed family-wise significance level per check; by default monitoring.false_alarm_days sets it",
    )
    correction: Literal["bonferroni", "holm"] = Field(default="holm", description="multiple-testing correction across features")
    psi_threshold: float = Field(default=0.2, gt=0, description="numeric features: smallest PSI that counts as drift")
    js_threshold: float = Field(default=0.1, gt=0, le=1, description="categorical features: smallest Jensen-Shannon distance")
    min_drifted_features: int = Field(default=1, ge=1, description="this many drifted features make the model's verdict drift")
    multivariate_threshold: float = Field(
        default=0.1, gt=0, description="all features together: smallest relative rise of the PCA reconstruction error that counts"
    )


class DataQualityRules(_Strict):
    min_samples: int = Field(default=100, ge=1, description="fewer captured rows than this: no verdict")
    max_missing_rate: float = Field(default=0.05, ge=0, le=1, description="share of rows missing a feature, above training's own")
    max_out_of_range_rate: float = Field(default=0.01, ge=0, le=1, description="share of a numeric feature outside training's range")
    max_unseen_rate: float = Field(default=0.01, ge=0, le=1, description="share of a categorical feature with a value training never had")


class PerformanceRules(_Strict):
    min_samples: int = Field(default=200, ge=10, description="fewer labelled predictions than this: no verdict")
    window_hours: int = Field(default=24, ge=1, le=24 * 30, description="feedback from this far back is judged")
    max_decay: float = Field(default=0.05, ge=0, description="largest acceptable drop of the primary metric from training")
    estimate_min_samples: int = Field(default=100, ge=10, description="fewer served predictions than this: no label-free estimate")


class Retraining(_Strict):
    on: list[Literal["drift", "performance", "estimated_performance"]] = Field(
        default=["drift", "performance"], description="what starts a retraining run (estimated_performance: before labels arrive)"
    )
    data: Literal["latest", "latest_plus_feedback"] = Field(
        default="latest", description="train on the newest dataset version, or on it plus the labelled captured traffic"
    )
    cooldown_minutes: int = Field(default=360, ge=0, description="no automatic run sooner than this after the last one")
    max_per_day: int = Field(default=2, ge=0, description="automatic runs per model per UTC day; 0 turns them off")


class Monitoring(_Strict):
    check_every_minutes: int = Field(default=60, ge=0, le=7 * 24 * 60, description="how often drift and performance are checked")
    false_alarm_days: float = Field(
        default=30, gt=0, description="expected time between false alarms under no drift: sets each check's significance level"
    )
    drift: DriftRules = DriftRules()
    data_quality: DataQualityRules = DataQualityRules()
    performance: PerformanceRules = PerformanceRules()
    retraining: Retraining = Retraining()

    def alpha_per_check(self) -> float:
        """Each check's chance of a false alarm. Windows of traffic do not overlap, so under no drift
        alarms come as a Bernoulli process: one every 1/alpha checks on average, i.e. every
        false_alarm_days when alpha is the checks' interval over it. The platform looks every SCHEDULE_MINUTES."""
        if self.drift.alpha is not None:
            return self.drift.alpha
        interval = max(self.check_every_minutes, SCHEDULE_MINUTES)
        return min(0.25, interval / (self.false_alarm_days * 24 * 60))


class Serving(_Strict):
    capture_sample_rate: float = Field(default=1.0, ge=0, le=1, description="share of predictions captured with inputs and outputs")
    pii_capture: Literal["drop", "hash"] = Field(
        default="drop",
        description="features marked pii never reach the capture bucket as sent: dropped, or replaced by a SHA-256 pseudonym"
        " (salted with the model name; a small value space can be brute-forced, so drop is the default)",
    )


class ModelSpec(_Strict):
    description: str = Field(default="", max_length=1000)
    target: Target
    features: list[Feature] = Field(min_length=1, max_length=500)
    data: DataRules = DataRules()
    training: Training = Training()
    gates: QualityGates = QualityGates()
    rollout: Rollout = Rollout()
    serving: Serving = Serving()
    monitoring: Monitoring = Monitoring()

    @model_validator(mode="after")
    def _columns_are_distinct(self) -> ModelSpec:
        names = [feature.name for feature in self.features]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"features: {', '.join(repeated)} named more than once")
        if self.target.name in names:
            raise ValueError(f"target: {self.target.name!r} is also listed as a feature")
        reserved = {PREDICTION_ERROR_COLUMN, predicted_column(self.target.name), *map(probability_column, self.target.classes or [])}
        taken = sorted(reserved & {*names, self.target.name})
        if taken:
            raise ValueError(f"features: {', '.join(map(repr, taken))} is a column batch scoring adds to its output; rename it")
        segment = self.rollout.ab.segment
        if segment is not None and segment not in [f.name for f in self.features if f.type == "categorical" and not f.pii]:
            raise ValueError(f"rollout.ab.segment: {segment!r} is not a categorical feature (nor may it be pii)")
        algorithm = self.training.algorithm
        if algorithm in (REGRESSION_ONLY if self.is_classification else CLASSIFICATION_ONLY):
            raise ValueError(f"training.algorithm: {algorithm} does not fit a {self.target.task} target")
        return self

    @property
    def columns(self) -> list[str]:
        """Dataset columns in canonical order: features as listed, then the target."""
        return [feature.name for feature in self.features] + [self.target.name]

    @property
    def is_classification(self) -> bool:
        return self.target.task != "regression"
