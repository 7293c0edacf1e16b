"""Lexical helpers every domain shares: one word tokenizer, one stop-word list.

`words` is every word of a text; `content_words` the ones that carry its
meaning. Lexical measures (deduplication, quote and citation overlap,
retrieval) all read text through these two.
"""

from __future__ import annotations

import re

STOPWORDS = frozenset("""a about above after again all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he her
here hers him his how i if in into is it its itself just may me more most must my no nor not now of off on once one only
onto or other our out over own same shall she should so some such than that the their them then there these they this
those through to too two under until up very was we were what when where which while who whom why will with would you
your yours yourself""".split())


def words(text: str) -> list[str]:
    """Lower-cased words; punctuation is dropped so a missing '?' changes nothing."""
    return re.findall(r"\w+", text.lower())


def content_words(text: str) -> list[str]:
    """Words that carry meaning, in order: lower case, stop words and single letters dropped, a plural 's' dropped."""
    out = []
    for word in re.findall(r"[a-z0-9][a-z0-9_]*", text.lower().replace("’", "'")):
        if word in STOPWORDS or len(word) < 2:
            continue
        out.append(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return out
