"""Rendering: from w per frame to a Frame of pixels."""
