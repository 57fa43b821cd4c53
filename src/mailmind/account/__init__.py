"""Mail accounts: IMAP/SMTP, Gmail and Microsoft 365 mailboxes, and the local import account."""
