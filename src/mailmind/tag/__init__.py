"""Hierarchical tags (``Work/Clients``) and their links to messages."""
