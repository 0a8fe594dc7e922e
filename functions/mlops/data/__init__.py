"""Data: model specs, reading and validating uploads, content-addressed dataset versions, splits and baselines."""
