"""Local mode: the synthesized CloudFormation template deployed into moto, with the real handlers.

Entry points: `python -m local serve` (make local) and `python -m local demo` (make demo).
"""
