"""Composing and sending: drafts, replies, forwards, scheduled sends and attachment uploads."""
