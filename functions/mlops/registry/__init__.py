"""Registry: model versions and aliases (champion, challenger), approvals and releases, the audit trail."""
