"""Adapters to other frameworks, each an optional extra imported only by name (never by `import ganeval`):
`ganeval.integrations.torchmetrics.GanevalMetric` (needs `pip install 'ganeval[torchmetrics]'`)."""
