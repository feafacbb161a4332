"""Exception types: one per source of input, all under InstallationError."""

from __future__ import annotations


class InstallationError(Exception):
    """Base class of every error the app reports to a user."""


class ModelLoadError(InstallationError):
    """A generator file could not be loaded; the message names the file and the reason."""


class ShowError(InstallationError):
    """A show file is invalid; the message names file, line and field."""


class ControlError(InstallationError):
    """A control message (OSC) was rejected."""
