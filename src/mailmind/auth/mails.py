"""Texts of the system mails, in English and German."""

from __future__ import annotations

from urllib.parse import quote

from mailmind.kit.time import isoformat, utcnow

TEXTS = {
    "en": {
        "verify_email": (
            "Verify your MailMind address",
            "Hello {name},\n\nplease confirm your e-mail address by opening this link within "
            "24 hours:\n\n{link}\n\nIf you did not sign up, ignore this mail.",
        ),
        "reset_password": (
            "Reset your MailMind password",
            "Hello {name},\n\nsomeone asked to reset your password. Open this link within one "
            "hour to choose a new one:\n\n{link}\n\nIf it was not you, ignore this mail; your "
            "password stays as it is.",
        ),
        "password_changed": (
            "Your MailMind password was changed",
            "Hello {name},\n\nyour password was changed at {time} (UTC) from {ip} ({agent}). "
            "All other sessions were signed out.\n\nIf this was not you, reset your password "
            "at once: {app}/forgot-password",
        ),
    },
    "de": {
        "verify_email": (
            "Bestätige deine MailMind-Adresse",
            "Hallo {name},\n\nbitte bestätige deine E-Mail-Adresse innerhalb von 24 Stunden "
            "über diesen Link:\n\n{link}\n\nWenn du dich nicht registriert hast, ignoriere "
            "diese Mail.",
        ),
        "reset_password": (
            "Setze dein MailMind-Passwort zurück",
            "Hallo {name},\n\njemand möchte dein Passwort zurücksetzen. Öffne innerhalb einer "
            "Stunde diesen Link, um ein neues zu wählen:\n\n{link}\n\nWarst du das nicht, "
            "ignoriere diese Mail; dein Passwort bleibt unverändert.",
        ),
        "password_changed": (
            "Dein MailMind-Passwort wurde geändert",
            "Hallo {name},\n\ndein Passwort wurde am {time} (UTC) von {ip} ({agent}) geändert. "
            "Alle anderen Sitzungen wurden abgemeldet.\n\nWarst du das nicht, setze dein "
            "Passwort sofort zurück: {app}/forgot-password",
        ),
    },
}

# Verification completes with one click on the API; a reset needs a form (the web client's).
# Pages of the web client, which call the API (/api/auth/verify-email, /api/auth/reset-password).
PATHS = {"verify_email": "/verify-email", "reset_password": "/reset-password"}


def render_mail(
    kind: str,
    *,
    language: str,
    app_url: str,
    name: str,
    token: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> tuple[str, str]:
    subject, body = TEXTS.get(language, TEXTS["en"])[kind]
    app = app_url.rstrip("/")
    link = f"{app}{PATHS[kind]}?token={quote(token)}" if token and kind in PATHS else ""
    return subject, body.format(
        name=name,
        link=link,
        time=isoformat(utcnow()),
        ip=ip or "unknown",
        agent=user_agent or "unknown",
        app=app,
    )
