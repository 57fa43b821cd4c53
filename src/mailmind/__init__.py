"""MailMind: a self-hostable AI email client."""

__version__ = "0.1.0"
