"""Identifiers: time-ordered ULIDs with a readable prefix (``conv_01J…``), and API key secrets."""

from __future__ import annotations

import hashlib
import os
import secrets
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(timestamp_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, so ids sort by creation time."""
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


# -- ULIDs that read as UUID v4 ------------------------------------------------------------------
# A ULID is 128 bits, as a UUID is. One whose version nibble is 4 and whose variant bits are 10 is,
# written as a UUID, a well-formed version-4 UUID, and the two spellings convert both ways without a
# lookup. Such a ULID keeps its 48-bit millisecond prefix (so it still sorts by creation) and 74
# random bits. Used for inboxes: Shinkai names a files inbox by a uuid v4 string.
_VERSION_SHIFT = 76  # bits 76-79 of the 128-bit value: the UUID version nibble
_VARIANT_SHIFT = 62  # bits 62-63: the RFC 9562 variant (0b10)
_ULID_CHARS = 26


def uuid4_ulid(timestamp_ms: int | None = None) -> str:
    """A ULID whose 128 bits are also a valid UUID v4 (see uuid_of_ulid)."""
    value = _decode_ulid(ulid(timestamp_ms))
    value = (value & ~(0xF << _VERSION_SHIFT)) | (0x4 << _VERSION_SHIFT)
    value = (value & ~(0x3 << _VARIANT_SHIFT)) | (0x2 << _VARIANT_SHIFT)
    return _encode_ulid(value)


def uuid_of_ulid(value: str) -> str:
    """The ULID's 128 bits spelled as a UUID (``8-4-4-4-12`` lowercase hex)."""
    h = f"{_decode_ulid(value):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ulid_of_uuid(value: str) -> str | None:
    """The ULID of a UUID string (hyphenated, any case), or None if it is not one."""
    if len(value) != 36 or [i for i, c in enumerate(value) if c == "-"] != [8, 13, 18, 23]:
        return None
    digits = value.replace("-", "")
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        return None
    return _encode_ulid(int(digits, 16))


def _encode_ulid(value: int) -> str:
    chars = []
    for _ in range(_ULID_CHARS):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _decode_ulid(value: str) -> int:
    if len(value) != _ULID_CHARS:
        raise ValueError(f"not a ULID: {value!r}")
    number = 0
    for char in value.upper():
        index = _CROCKFORD.find(char)
        if index < 0:
            raise ValueError(f"not a ULID: {value!r}")
        number = (number << 5) | index
    if number >> 128:
        raise ValueError(f"not a ULID: {value!r}")
    return number


API_KEY_PREFIX = "pk_"


def new_api_key_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(secret: str) -> str:
    """Only this digest is stored; the secret itself is shown once and never kept."""
    return hashlib.sha256(secret.encode()).hexdigest()
