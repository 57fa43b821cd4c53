"""Durable jobs on procrastinate, in the same PostgreSQL database as the data they act on."""
