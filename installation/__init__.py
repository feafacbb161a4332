"""Latent-walk installation app."""

__version__ = "0.1.0"
