"""Webhook signing secrets sealed at rest: keys from the settings, a new key first."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.infra.secret_box import SecretBox, SecretKeyError
from shared.infra.settings import Settings


def test_a_sealed_secret_is_not_the_secret_and_opens_to_it() -> None:
    box = SecretBox([Fernet.generate_key()])
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert box.open(sealed) == "whsec_abc"


def test_a_new_first_key_still_opens_what_the_old_one_sealed_and_says_it_is_not_current() -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    sealed = SecretBox([old_key]).seal("whsec_abc")
    rotated = SecretBox([new_key, old_key])
    assert rotated.open(sealed) == "whsec_abc"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.seal("whsec_abc"))


def test_without_the_key_it_was_sealed_with_a_secret_cannot_be_opened() -> None:
    sealed = SecretBox([Fernet.generate_key()]).seal("whsec_abc")
    with pytest.raises(SecretKeyError, match="keep the key it was sealed with listed"):
        SecretBox([Fernet.generate_key()]).open(sealed)


def test_keys_come_from_the_settings_and_a_bad_one_is_named() -> None:
    key = Fernet.generate_key().decode()
    sealed = SecretBox.from_settings(Settings(webhook_secret_keys=f" {key} ,")).seal("s")
    assert SecretBox([key.encode()]).open(sealed) == "s"
    with pytest.raises(SecretKeyError, match="key 2 is not a Fernet key"):
        SecretBox.from_settings(Settings(webhook_secret_keys=f"{key},not-a-key"))


def test_without_keys_the_key_is_derived_from_the_ops_token_and_stable() -> None:
    one = SecretBox.from_settings(Settings(REGWATCH_OPS_TOKEN="token-1"))
    again = SecretBox.from_settings(Settings(REGWATCH_OPS_TOKEN="token-1"))
    other = SecretBox.from_settings(Settings(REGWATCH_OPS_TOKEN="token-2"))
    sealed = one.seal("s")
    assert again.open(sealed) == "s"
    assert not other.is_current(sealed)
