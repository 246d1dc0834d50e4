"""Who a signed-in person is to the history, and whether they may enter (the pages sign people in with
Streamlit's st.login; this module never imports Streamlit).

A person's history belongs to their identity at the provider, the issuer and subject of their ID token
(`iss`, `sub`), not to their e-mail address, which can change or be given to someone else. The owner id
the store files everything under is a hash of the two, shaped like a visitor id, so every table and rule
that holds for visitors holds for people.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ic.settings import SignInSettings


@dataclass(frozen=True)
class Person:
    issuer: str
    subject: str
    email: str = ""
    name: str = ""
    email_verified: bool | None = None

    @property
    def owner(self) -> str:
        return owner_of(self.issuer, self.subject)

    @property
    def shown(self) -> str:
        """How the app names them: their name and address, or whichever the provider gave."""
        if self.name and self.email:
            return f"{self.name} ({self.email})"
        return self.name or self.email or f"{self.subject[:12]} at {self.issuer}"


def owner_of(issuer: str, subject: str) -> str:
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()[:32]


def verified_flag(value) -> bool | None:
    """The provider's email_verified claim as the boolean it means: some providers send the string "false"
    (bool("false") is True). None where the provider does not say; anything but a plain yes is not verified."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() == "true"


def address_domain(email: str) -> str | None:
    """The domain of one plain address (one @, something on each side, no spaces), else None:
    "mallory@other.org@example.com" is no address at example.com."""
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or any(c.isspace() for c in email) or "." not in domain:
        return None
    return domain


def refusal(person: Person, settings: SignInSettings) -> str | None:
    """Why this person may not enter (a sentence), or None. With no allow-list, whoever the provider signs
    in may enter; with one, their address must be verified (where the provider says) and listed, or be of
    a listed domain."""
    if not settings.allowed_domains and not settings.allowed_emails:
        return None
    email = person.email.strip().lower()
    if not email:
        return ("Your sign-in did not say your e-mail address, which this app needs to let you in; sign in with "
                "an account that shares it, or ask whoever runs this app.")
    domain = address_domain(email)
    if domain is None:
        return (f"Your sign-in gave {email!r}, which is not one e-mail address; sign in with an account that has "
                "one, or ask whoever runs this app.")
    if person.email_verified is False:
        return f"Your provider has not verified {email}; verify it there, then sign in again."
    if email in settings.allowed_emails or domain in settings.allowed_domains:
        return None
    return (f"{email} may not enter this app: it is open to "
            + " and ".join(part for part in (
                ", ".join(f"@{d}" for d in settings.allowed_domains) and
                f"addresses at {', '.join(f'@{d}' for d in settings.allowed_domains)}",
                settings.allowed_emails and "a list of named people") if part)
            + ". Sign out and sign in with another account, or ask whoever runs it to add you.")
