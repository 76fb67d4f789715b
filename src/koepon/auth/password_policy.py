"""Which new passwords are refused (NIST SP 800-63B §5.1.1.2), on zxcvbn's estimate.

zxcvbn ships frequency lists of leaked passwords, common words and names, and finds repeats,
sequences, keyboard walks, dates and l33t spellings; the words of this context (the address,
the display name, the service's own name) count as a dictionary too. A password it expects to
fall within 10⁸ guesses (score below 3) is refused, with its reason. No composition rules.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

MIN_SCORE = 3
SERVICE_WORDS: tuple[str, ...] = ("koepon", "こえポン", "こえぽん", "oshi", "medal", "推しメダル")
# zxcvbn's cost grows with length; anything longer than this is checked on its head only,
# which can only make the estimate lower (stricter), never let a weak password through.
CHECKED_LENGTH = 100
_WORD = re.compile(r"[^\W_]+")
_SEPARATORS = re.compile(r"[\W_]+")


def context_words(*texts: str) -> list[str]:
    """The texts and their words (``fan.taro@example.jp`` → fan.taro, example, fan, taro…)."""
    words: set[str] = set(SERVICE_WORDS)
    for text in texts:
        lowered = text.strip().lower()
        if lowered:
            words.add(lowered)
            parts = [part for part in lowered.split("@") if part]
            words.update(parts)
            # hanako.yamada → hanakoyamada: people drop the dots and dashes of their address.
            words.update(joined for part in parts if (joined := _SEPARATORS.sub("", part)))
            words.update(w for w in _WORD.findall(lowered) if len(w) >= 3)
    return sorted(words)


def weakness(password: str, *context: str) -> str | None:
    """Why ``password`` is refused, or ``None`` when it may be used."""
    if not password.strip():
        return "A password cannot be only spaces"
    result = zxcvbn(password[:CHECKED_LENGTH], user_inputs=context_words(*context))
    if int(result["score"]) >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    warning = str(feedback.get("warning") or "").strip()
    reason = warning or "This password is too easy to guess"
    return (
        f"{reason.rstrip('.')}. Choose a longer passphrase of unrelated words, "
        "not your email, your name or the service's name"
    )
