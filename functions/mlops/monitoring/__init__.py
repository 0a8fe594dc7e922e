"""Monitoring: scheduled checks, drift and performance against the training baseline, retraining."""
