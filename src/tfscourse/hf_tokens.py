"""Read the token strings of a Hugging Face byte-level BPE vocabulary back as bytes (notebook 03).

Hugging Face's ``ByteLevel`` pre-tokenizer writes every byte as a printable stand-in
character (GPT-2's table: a space becomes ``Ġ``), so its vocabulary lists strings such as
``"Ġthe"``. Notebook 03 compares those tokens with the ones the student's tokenizer learned,
which are bytes.

Example:
    >>> hf_token_bytes("Ġthe")
    b' the'
"""

from __future__ import annotations


def _gpt2_byte_chars() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte (used by Hugging Face's ByteLevel)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


_BYTE_OF_CHAR = {c: b for b, c in _gpt2_byte_chars().items()}


def hf_token_bytes(token: str) -> bytes:
    """The bytes behind a token string of a Hugging Face ByteLevel BPE vocabulary.

    Example: hf_token_bytes("Ġthe") -> b" the"
    """
    return bytes(_BYTE_OF_CHAR[c] for c in token)
