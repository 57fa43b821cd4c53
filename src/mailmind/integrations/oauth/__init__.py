"""OpenID Connect / OAuth 2.0 with Google and Microsoft: sign-in now, mailbox access (XOAUTH2)
with the same provider set-up."""
