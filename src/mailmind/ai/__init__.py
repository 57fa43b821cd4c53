"""MailMind's own AI: the local implementations that work offline, on a CPU, without a key."""
