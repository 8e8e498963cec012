"""Words back into text as the language writes them.

Stored words are stripped (``"m'"``... ``"appelle"``, ``"self"``, ``"-substantial"``),
while the segment text keeps the spacing Whisper produced. Joining words with
``" "`` writes "m 'appelle" and "self -substantial"; these helpers read the
separator before each word from the text the words came from instead: nothing
for a clitic, a hyphenated part, punctuation or a language written without
spaces, one space otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence


def separators(words: Sequence[str], text: str) -> list[str]:
    """The separator before each word (``""`` for the first), as ``text`` has it.

    Words are found in order in ``text``; a word that cannot be found (edited by
    a later stage) gets one space, or nothing when ``text`` has no spaces at all.
    """
    default = " " if " " in text.strip() or not text else ""
    found: list[str] = []
    pos = 0
    for index, word in enumerate(words):
        at = text.find(word, pos) if word else -1
        if index == 0:
            found.append("")
        elif at < 0:
            found.append(default)
        else:
            found.append("" if at == pos else " ")
        if at >= 0:
            pos = at + len(word)
    return found
