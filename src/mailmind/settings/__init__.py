"""Per-user preferences: ``GET/PATCH /api/settings`` (UI, notifications, AI controls)."""
