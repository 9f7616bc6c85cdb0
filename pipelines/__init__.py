"""Pipelines: pipelines, stages, deals; later stage history, the board, metrics, routing."""
