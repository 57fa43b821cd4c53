"""On-demand AI (``/api/ai/*``), the decision log and learned corrections, and the rules for when
text may go to a remote provider (local-only, per-feature provider, hourly quota)."""
