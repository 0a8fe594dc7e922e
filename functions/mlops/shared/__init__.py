"""Shared by every context, and nothing else: settings, AWS clients, typed errors, item conversion, observability, API basics."""
