"""One module per pipeline step, each exposing its step as ``STEP``."""
