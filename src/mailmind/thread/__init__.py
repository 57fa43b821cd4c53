"""Conversations: threading of messages and the threads API."""
