"""Latent paths: pure functions of time (no clocks), e.g. the seamless loop through seeds."""
