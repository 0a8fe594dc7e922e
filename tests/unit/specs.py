"""Model specs the tests share."""

from mlops.data.spec import ModelSpec

CHURN_SPEC = {
    "description": "Customer churn within 90 days",
    "target": {"name": "churned", "task": "binary", "classes": ["no", "yes"]},
    "features": [
        {"name": "tenure_months", "type": "numeric", "minimum": 0, "maximum": 600},
        {"name": "monthly_charges", "type": "numeric", "minimum": 0, "nullable": True},
        {"name": "plan", "type": "categorical", "categories": ["basic", "plus", "pro"]},
    ],
    "data": {"min_rows": 5, "max_invalid_row_fraction": 0.2},
}


def churn_spec(**data_rules) -> ModelSpec:
    document = {**CHURN_SPEC, "data": {**CHURN_SPEC["data"], **data_rules}}
    return ModelSpec.model_validate(document)
