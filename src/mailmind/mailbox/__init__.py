"""Folders of a mail account and the sync engine that mirrors them."""
