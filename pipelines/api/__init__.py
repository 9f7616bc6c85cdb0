"""The pipelines app's /api/v1/ resources: pipelines with their stages, lost reasons, deals (with their
moves, closing, reopening and stage history) and pipeline metrics. See docs/api.md."""
