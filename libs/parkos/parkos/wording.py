"""Small helpers that keep messages people read grammatical."""
from __future__ import annotations


def with_article(word: str) -> str:
    """``word`` after "a" or "an" by its first letter: "an active", "a pending", "an ord_"."""
    vowel = word[:1].lower() in ("a", "e", "i", "o", "u")
    return f"{'an' if vowel else 'a'} {word}"
