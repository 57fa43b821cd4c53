"""A local mailbox to try MailMind with: a private Dovecot (IMAPS) and an SMTP submission server
(STARTTLS + AUTH), the INBOX filled with the SpamAssassin corpus's ham and Junk with its spam.

    .venv/bin/python scripts/demo-mailbox.py [--ham 1400] [--spam 200]

It prints the account to add (`POST /api/accounts`) and the MAIL_CA_FILE to start MailMind with,
then runs until Ctrl-C. The corpus comes from scripts/test-corpora.sh (`make test` fetches it).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mailservers import DovecotServer  # noqa: E402
from tests.submission import SubmissionServer  # noqa: E402

CORPUS = ROOT / ".cache" / "corpora" / "spam-assassin-0.2.3" / "data"


def messages(groups: list[str], limit: int) -> list[bytes]:
    files = sorted(p for group in groups for p in (CORPUS / group).glob("*.txt"))
    return [p.read_bytes() for p in files[:limit]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--ham", type=int, default=1400, help="ham messages into INBOX")
    parser.add_argument("--spam", type=int, default=200, help="spam messages into Junk")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo-mailbox-password")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        parser.error(f"{CORPUS} is missing: run scripts/test-corpora.sh")

    dovecot = DovecotServer()
    dovecot.start()
    user = dovecot.add_user(args.user, args.password)
    certs = dovecot.certificates
    smtp = SubmissionServer(certfile=str(certs.cert_file), keyfile=str(certs.key_file))
    smtp.logins[user.username] = user.password
    try:
        started = time.monotonic()
        with dovecot.client(user) as client:
            for folder, raws in (
                ("INBOX", messages(["easy-ham-2", "easy-ham-1"], args.ham)),
                ("Junk", messages(["spam-2"], args.spam)),
            ):
                for raw in raws:
                    client.append(folder, raw)
        print(
            f"filled {args.ham} + {args.spam} messages in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
        )
        account = {
            "kind": "imap",
            "email": f"{user.username}@example.com",
            "imap": {
                "host": "127.0.0.1",
                "port": dovecot.imaps_port,
                "security": "ssl",
                "username": user.username,
            },
            "smtp": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "starttls",
                "username": user.username,
            },
            "password": user.password,
        }
        print(f"MAIL_CA_FILE={dovecot.ca_file}")
        print(json.dumps(account))
        sys.stdout.flush()
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        smtp.stop()
        dovecot.cleanup()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    raise SystemExit(main())
