"""The churn model's assets, checks and job (the code lives in the top-level ``ml`` package)."""
