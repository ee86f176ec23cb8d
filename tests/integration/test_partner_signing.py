"""Standard Webhooks v1 signing and verification (pure functions)."""
from __future__ import annotations

import base64

import pytest

from chalicelib.integration import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes-long!").decode()
BODY = b'{"test": 2432232314}'
NOW = 1_700_000_000


def headers(secret=SECRET, *, webhook_id="msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp=NOW, body=BODY, **kw):
    return signing.sign_headers(webhook_id, timestamp, body, hmac_secrets=[secret] if secret else [], **kw)


def test_the_specification_test_vector():
    # from the Standard Webhooks reference libraries' test suite
    assert signing.sign_hmac(SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, BODY) == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_valid_webhook_verifies_and_header_names_are_case_insensitive():
    signed = {k.upper(): v for k, v in headers().items()}

    parsed = signing.verify(signed, BODY, now=NOW, hmac_secrets=[SECRET])

    assert parsed.id == "msg_p5jXN8AQM9LWM0D4loKWxJek" and parsed.timestamp == NOW


@pytest.mark.parametrize("body", [BODY + b" ", b'{"test": 2432232315}', BODY.replace(b" ", b"")])
def test_a_tampered_body_fails(body):
    with pytest.raises(signing.SignatureError) as info:
        signing.verify(headers(), body, now=NOW, hmac_secrets=[SECRET])
    assert info.value.reason == "no_matching_signature"


def test_a_wrong_secret_fails_and_any_one_of_several_signatures_suffices():
    with pytest.raises(signing.SignatureError):
        signing.verify(headers(OTHER), BODY, now=NOW, hmac_secrets=[SECRET])
    rotated = signing.sign_headers("msg_1", NOW, BODY, hmac_secrets=[OTHER, SECRET])  # old + new key

    assert len(rotated["webhook-signature"].split(" ")) == 2
    signing.verify(rotated, BODY, now=NOW, hmac_secrets=[SECRET])
    signing.verify(rotated, BODY, now=NOW, hmac_secrets=[OTHER])
    signing.verify(headers(OTHER), BODY, now=NOW, hmac_secrets=[SECRET, OTHER])  # receiver in rotation


def test_the_signature_covers_id_and_timestamp():
    signed = headers()
    for change in ({"webhook-id": "msg_other"}, {"webhook-timestamp": str(NOW + 1)}):
        with pytest.raises(signing.SignatureError):
            signing.verify({**signed, **change}, BODY, now=NOW, hmac_secrets=[SECRET])


@pytest.mark.parametrize("offset,reason", [(-301, "timestamp_too_old"), (301, "timestamp_in_future")])
def test_timestamps_more_than_five_minutes_off_fail(offset, reason):
    with pytest.raises(signing.SignatureError) as info:
        signing.verify(headers(timestamp=NOW + offset), BODY, now=NOW, hmac_secrets=[SECRET])
    assert info.value.reason == reason
    for inside in (-300, 300):
        signing.verify(headers(timestamp=NOW + inside), BODY, now=NOW, hmac_secrets=[SECRET])


@pytest.mark.parametrize("broken,reason", [
    ({"webhook-id": ""}, "missing_headers"),
    ({"webhook-signature": ""}, "missing_headers"),
    ({"webhook-timestamp": "soon"}, "bad_timestamp"),
    ({"webhook-id": "msg.with.dots"}, "bad_webhook_id"),
    ({"webhook-signature": " ".join(["v1,AAAA"] * 11)}, "bad_signature_header"),
    ({"webhook-signature": "v1,not-base64!!"}, "no_matching_signature"),
    ({"webhook-signature": "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}, "no_matching_signature"),
])
def test_malformed_headers_fail(broken, reason):
    with pytest.raises(signing.SignatureError) as info:
        signing.verify({**headers(), **broken}, BODY, now=NOW, hmac_secrets=[SECRET])
    assert info.value.reason == reason


def test_ed25519_signatures_v1a():
    signing_key, public_key = signing.new_ed25519_keypair()
    other_key, other_public = signing.new_ed25519_keypair()
    signed = signing.sign_headers("msg_ed", NOW, BODY, signing_keys=[signing_key])

    assert signed["webhook-signature"].startswith("v1a,")
    assert signing.public_key_of(signing_key) == public_key
    signing.verify(signed, BODY, now=NOW, public_keys=[other_public, public_key])
    with pytest.raises(signing.SignatureError):
        signing.verify(signed, BODY, now=NOW, public_keys=[other_public])
    with pytest.raises(signing.SignatureError):
        signing.verify(signed, BODY + b"x", now=NOW, public_keys=[public_key])
    both = signing.sign_headers("msg_ed", NOW, BODY, hmac_secrets=[SECRET], signing_keys=[other_key])
    signing.verify(both, BODY, now=NOW, hmac_secrets=[SECRET])  # HMAC and ed25519 side by side


def test_keys_are_checked_for_their_kind():
    signing.check_key("hmac", SECRET)
    for kind, value in (("hmac", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), ("hmac", "whsec_c2hvcnQ="),
                        ("ed25519_public", SECRET), ("ed25519_signing", "whsk_AAAA"), ("rsa", SECRET)):
        with pytest.raises(ValueError):
            signing.check_key(kind, value)
    assert signing.new_hmac_secret().startswith("whsec_")
    assert signing.new_hmac_secret() != signing.new_hmac_secret()
