"""Serving: predictions from ONNX sessions, traffic and rollouts, A/B tests, capture, batch scoring."""
