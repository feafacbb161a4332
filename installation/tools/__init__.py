"""Latent tools for artists: seed contact sheets, PCA directions, projection of photos into w.

Each tool is one module with a `run(args)` the CLI (`installation/cli.py`) calls; `common.py`
holds what they share: loading a model for a tool, layer ranges, rendering ws in batches and
labelled contact sheets.
"""
