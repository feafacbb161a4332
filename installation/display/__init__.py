"""Presenters: put Frames on a screen (pygame + moderngl) or into an offscreen framebuffer."""
