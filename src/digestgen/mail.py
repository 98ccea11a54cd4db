"""An edition as an RFC 5322 message, and its delivery over SMTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from digestgen.config import SmtpConfig
from digestgen.errors import DigestgenError

SMTP_TIMEOUT = 30  # seconds; a stuck server should end in an error line, not a hang


@dataclass(frozen=True)
class Envelope:
    """Who the message is from and to, as configured, plus list headers."""

    sender: str
    to: str
    reply_to: str
    list_id: str
    unsubscribe_url: str

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def recipients(self) -> list[str]:
        return [address for _name, address in getaddresses([self.to]) if address]


@dataclass(frozen=True)
class Stamp:
    """The Date header and Message-ID seed: fixed by SOURCE_DATE_EPOCH, else now."""

    when: dt.datetime
    reproducible: bool


def check_envelope(envelope: Envelope) -> None:
    """The addresses the .eml needs, checked before anything is rendered."""
    if "@" not in envelope.sender_address:
        raise DigestgenError(
            "newsletter.from in digestgen.yaml must be an address such as 'Digest <digest@example.org>'"
        )
    if not envelope.recipients or any("@" not in address for address in envelope.recipients):
        raise DigestgenError(
            "newsletter.to in digestgen.yaml must name at least one address, such as readers@example.org"
        )


def stamp_from_environment(environ: Mapping[str, str]) -> Stamp:
    value = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return Stamp(dt.datetime.now(dt.timezone.utc).replace(microsecond=0), reproducible=False)
    try:
        return Stamp(dt.datetime.fromtimestamp(int(value), dt.timezone.utc), reproducible=True)
    except (ValueError, OverflowError, OSError):
        raise DigestgenError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not {value!r}") from None


def _fingerprint(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def _message_id(stamp: Stamp, fingerprint: str, domain: str) -> str:
    if stamp.reproducible:
        seed = _fingerprint(fingerprint, stamp.when.isoformat())
        return f"<{seed[:32]}@{domain}>"
    return make_msgid(idstring=fingerprint[:12], domain=domain)


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    envelope: Envelope,
    stamp: Stamp,
    fallback_domain: str,
) -> bytes:
    """A multipart/alternative message (plain text first, then HTML) with CRLF line ends."""
    fingerprint = _fingerprint(subject, text, html, envelope.sender, envelope.to)
    domain = envelope.sender_address.rpartition("@")[2] or fallback_domain
    message = EmailMessage(policy=SMTP)
    message["Date"] = format_datetime(stamp.when)
    message["Message-ID"] = _message_id(stamp, fingerprint, domain)
    message["Subject"] = subject
    message["From"] = envelope.sender
    message["To"] = envelope.to
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to
    message["List-Id"] = list_id_header(envelope.list_id)
    if envelope.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
        # RFC 8058 one-click unsubscribe is defined for HTTPS addresses only.
        if envelope.unsubscribe_url.startswith("https://"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps every line under 78 characters and the text readable in the file.
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # A fixed boundary keeps the bytes reproducible; '==' can never occur in quoted-printable text.
    message.set_boundary(f"==digestgen-{fingerprint[:24]}==")
    return message.as_bytes(policy=SMTP)


def list_id_header(value: str) -> str:
    """RFC 2919's `phrase <label>`, the phrase as RFC 2047 encoded words when it is not ASCII, the
    label never encoded (Python would otherwise encode the whole header as one word)."""
    phrase, _, label = value.rpartition("<")
    # One line, and no angle bracket that a reader could take for a second <list-id>.
    phrase = " ".join(phrase.strip().strip('"').replace("<", "").replace(">", "").split())
    label = "<" + label
    if not phrase:
        return label
    if phrase.isascii():
        return f'"{phrase}" {label}'
    # Header folds a long phrase into several encoded words on separate lines; the message's own
    # policy folds the whole header, and encoded words separated by spaces decode as one text.
    return f"{' '.join(Header(phrase, 'utf-8').encode().split())} {label}"


def html_size_as_sent(html: str) -> int:
    """The bytes of the HTML part's body on the wire: quoted-printable, CRLF line ends."""
    part = EmailMessage(policy=SMTP)
    part.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    payload = part.get_payload()
    return len(payload.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii"))


def _password(smtp: SmtpConfig, environ: Mapping[str, str]) -> str:
    password = environ.get(smtp.password_env, "")
    if not password:
        raise DigestgenError(
            f"newsletter.smtp.user is set but the environment variable {smtp.password_env} "
            "(newsletter.smtp.password_env) holding the SMTP password is empty"
        )
    return password


def _connect(smtp: SmtpConfig) -> smtplib.SMTP:
    if smtp.security == "ssl":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context())
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
    if smtp.security == "starttls":
        try:
            client.starttls(context=ssl.create_default_context())
        except BaseException:
            client.close()
            raise
    return client


def send_message(
    eml: bytes, envelope: Envelope, smtp: SmtpConfig, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """Hand the exact .eml bytes to the configured SMTP server; return who it accepted.

    A server that refuses some recipients still delivers to the others (that is SMTP's way); the
    refusals, with the server's code and reason, are then one DigestgenError naming who did get it.
    """
    where = f"{smtp.host}:{smtp.port} ({smtp.security})"
    password = _password(smtp, environ) if smtp.user else ""
    try:
        with _connect(smtp) as client:
            if smtp.user:
                client.login(smtp.user, password)
            refused = client.sendmail(envelope.sender_address, envelope.recipients, eml)
    except smtplib.SMTPAuthenticationError as exc:
        raise DigestgenError(f"SMTP server {where} refused the login of {smtp.user!r}: {_reply(exc)}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DigestgenError(f"SMTP server {where} refused every recipient, nothing was sent: {_refusals(exc.recipients)}") from None
    except smtplib.SMTPResponseException as exc:
        raise DigestgenError(f"SMTP server {where} answered {exc.smtp_code}: {_reply(exc)}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise DigestgenError(
            f"SMTP server {where} does not support this: {exc} (check newsletter.smtp.security)"
        ) from None
    except (smtplib.SMTPException, ssl.SSLError) as exc:
        raise DigestgenError(f"could not send through {where}: {exc or type(exc).__name__}") from None
    except ConnectionRefusedError:
        raise DigestgenError(f"could not send: nothing accepts connections at {where}") from None
    except TimeoutError:
        raise DigestgenError(f"could not send: {where} did not answer within {SMTP_TIMEOUT} s") from None
    except OSError as exc:
        raise DigestgenError(f"could not send through {where}: {exc.strerror or exc}") from None
    accepted = [address for address in envelope.recipients if address not in refused]
    if refused:
        raise DigestgenError(
            f"SMTP server {where} delivered to {', '.join(accepted)} but refused {_refusals(refused)}; "
            "resend only to the refused addresses once they are fixed"
        )
    return accepted


def _refusals(refused: Mapping[str, tuple[int, bytes | str]]) -> str:
    """'bob@example.org (550 5.1.1 User unknown), …' in address order."""
    return ", ".join(f"{address} ({code} {_text(reason)})" for address, (code, reason) in sorted(refused.items()))


def _text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return _text(exc.smtp_error)
