"""Offline text corpora for the notebooks.

Every notebook must run without internet. The default corpus is real English
prose that every CPython installation carries: the language reference topics
bundled in ``pydoc_data`` (about 0.47 MB). Any local UTF-8 text file can be used
instead.

Example:
    >>> text = reference_text(max_chars=1000)
    >>> len(text) <= 1000
    True
"""

from __future__ import annotations

from pathlib import Path


def reference_text(max_chars: int | None = None) -> str:
    """The Python language reference bundled with CPython, as one string (topics in sorted order)."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[name].strip() for name in sorted(topics))
    return text if max_chars is None else text[:max_chars]


def load_text(path: str | Path | None = None, max_chars: int | None = None) -> str:
    """Read a local UTF-8 text file, or the bundled reference text when ``path`` is None."""
    if path is None:
        return reference_text(max_chars)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no text file at {path}; pass None to use the bundled Python reference text")
    text = path.read_text(encoding="utf-8")
    return text if max_chars is None else text[:max_chars]


def train_val_split(text: str, val_fraction: float = 0.1) -> tuple[str, str]:
    """Split a text into a training head and a validation tail (no shuffling: no leakage between them)."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(len(text) * (1.0 - val_fraction))
    return text[:cut], text[cut:]
