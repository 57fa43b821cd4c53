"""Live updates: the ``/ws`` WebSocket and the per-user events published to it."""
