"""Who may enter (ic.auth), as providers really send it: a verified flag as a string, addresses that are not one
address."""

import pytest

from ic.auth import Person, refusal, verified_flag
from ic.settings import SignInSettings

DOMAIN = SignInSettings(allowed_domains=("example.com",), allowed_emails=(), share_links="signed-in")


@pytest.mark.parametrize(("sent", "means"), [(True, True), (False, False), ("true", True), ("TRUE", True),
                                            ("false", False), ("False", False), ("", False), ("yes", False),
                                            (0, False), (1, False), (None, None)])
def test_the_verified_flag_means_what_the_provider_meant(sent, means):
    assert verified_flag(sent) is means


def person(email: str, verified=True) -> Person:
    return Person("https://issuer.example", "sub-1", email=email, email_verified=verified_flag(verified))


def test_an_address_the_provider_calls_unverified_in_a_string_is_refused():
    assert "not verified" in refusal(person("alice@example.com", "false"), DOMAIN)
    assert refusal(person("alice@example.com", "true"), DOMAIN) is None
    assert refusal(person("alice@example.com", None), DOMAIN) is None  # the provider does not say: the domain decides


@pytest.mark.parametrize("email", ["mallory@other.org@example.com", "@example.com", "alice@", "alice example.com",
                                   "alice @example.com", "alice@example"])
def test_only_one_plain_address_may_enter(email):
    assert "not one e-mail address" in refusal(person(email), DOMAIN)


def test_an_address_at_an_allowed_domain_enters_and_another_does_not():
    assert refusal(person("Alice@Example.com"), DOMAIN) is None
    assert "may not enter" in refusal(person("mallory@other.org"), DOMAIN)
    assert "may not enter" in refusal(person("mallory@example.com.evil.org"), DOMAIN)
