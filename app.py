#!/usr/bin/env python3
"""The CDK app: one platform stack, checked by cdk-nag's AWS Solutions rules."""

from aws_cdk import App

from infra.app_builder import build_app

app: App = build_app()
app.synth()
