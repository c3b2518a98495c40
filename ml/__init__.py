"""The churn model: features from gold (``gold.ml_customer_features``), a LightGBM classifier
tracked and registered in MLflow, and daily scores written back to Iceberg
(``ml.customer_churn_scores``). Dagster assets in ``orchestration/defs/ml/`` call these modules."""
