"""VADER sentiment of texts: numbers out, no database (storing each action text's score once:
influence.text_sentiment).

vaderSentiment's analyser spends most of its time lower-casing the whole sentence again for every word it
checks for negations and idioms (quadratic in the text length) and walking each character for emoji. The
analyser below computes the same compound score (tests compare it with the stock analyser) with those
lists built once per text, an ASCII fast path for the emoji step, and a cache of repeated texts.
"""
from __future__ import annotations

import logging
import math
import threading
from typing import Iterable, Iterator

from vaderSentiment import vaderSentiment as vader


logger = logging.getLogger(__name__)

_NEGATE = frozenset(vader.NEGATE)


def _negated_word(word_lower: str) -> bool:
    """vader.negated([word]) for one lower-cased word."""
    return word_lower in _NEGATE or "n't" in word_lower


class FastSentimentAnalyzer(vader.SentimentIntensityAnalyzer):
    """SentimentIntensityAnalyzer with the same scores, faster. Not thread-safe: one instance per thread."""

    def __init__(self, *, cache_size: int = 100_000):
        super().__init__()
        self._words: list | None = None
        self._lower: list[str] = []
        self._cache: dict[str, float] = {}
        self._cache_size = cache_size

    def compound(self, text: str) -> float:
        """The VADER compound score of `text` (-1..1); 0.0 for blank text."""
        if not text or text.isspace():
            return 0.0
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        value = self.polarity_scores(text)["compound"]
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[text] = value
        return value

    def polarity_scores(self, text):
        if not text.isascii():
            # Emoji are non-ASCII: only then is the character walk needed.
            text_no_emoji = ""
            prev_space = True
            for chr in text:
                if chr in self.emojis:
                    description = self.emojis[chr]
                    if not prev_space:
                        text_no_emoji += " "
                    text_no_emoji += description
                    prev_space = False
                else:
                    text_no_emoji += chr
                    prev_space = chr == " "
            text = text_no_emoji
        text = text.strip()
        sentitext = vader.SentiText(text)
        sentiments = []
        words = sentitext.words_and_emoticons
        lower = [w.lower() for w in words]
        self._words, self._lower = words, lower
        last = len(words) - 1
        for i, item in enumerate(words):
            item_lower = lower[i]
            if item_lower in vader.BOOSTER_DICT or (i < last and item_lower == "kind" and lower[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
        sentiments = self._but_check(words, sentiments)
        self._words = None
        return self.score_valence(sentiments, text)

    def sentiment_valence(self, valence, sentitext, item, i, sentiments):
        words = sentitext.words_and_emoticons
        if words is not self._words:
            return super().sentiment_valence(valence, sentitext, item, i, sentiments)
        lw = self._lower
        lexicon = self.lexicon
        is_cap_diff = sentitext.is_cap_diff
        item_lowercase = lw[i]
        if item_lowercase in lexicon:
            valence = lexicon[item_lowercase]
            if item_lowercase == "no" and i != len(words) - 1 and lw[i + 1] in lexicon:
                valence = 0.0
            if (i > 0 and lw[i - 1] == "no") or (i > 1 and lw[i - 2] == "no") or (
                i > 2 and lw[i - 3] == "no" and lw[i - 1] in ("or", "nor")
            ):
                valence = lexicon[item_lowercase] * vader.N_SCALAR
            if item.isupper() and is_cap_diff:
                valence = valence + vader.C_INCR if valence > 0 else valence - vader.C_INCR
            for start_i in range(0, 3):
                j = i - (start_i + 1)
                if i > start_i and lw[j] not in lexicon:
                    # vader.scalar_inc_dec(words[j], valence, is_cap_diff) with the lower-cased word at hand
                    scalar = 0.0
                    if lw[j] in vader.BOOSTER_DICT:
                        scalar = vader.BOOSTER_DICT[lw[j]]
                        if valence < 0:
                            scalar *= -1
                        if words[j].isupper() and is_cap_diff:
                            scalar = scalar + vader.C_INCR if valence > 0 else scalar - vader.C_INCR
                    if start_i == 1 and scalar != 0:
                        scalar = scalar * 0.95
                    if start_i == 2 and scalar != 0:
                        scalar = scalar * 0.9
                    valence = valence + scalar
                    valence = self._negation_check(valence, words, start_i, i)
                    if start_i == 2:
                        valence = self._special_idioms_check(valence, words, i)
            # _least_check
            if i > 1 and lw[i - 1] not in lexicon and lw[i - 1] == "least":
                if lw[i - 2] != "at" and lw[i - 2] != "very":
                    valence = valence * vader.N_SCALAR
            elif i > 0 and lw[i - 1] not in lexicon and lw[i - 1] == "least":
                valence = valence * vader.N_SCALAR
        sentiments.append(valence)
        return sentiments

    def _lowered(self, words) -> list[str]:
        if words is self._words:
            return self._lower
        return [str(w).lower() for w in words]

    def _negation_check(self, valence, words_and_emoticons, start_i, i):
        lw = self._lowered(words_and_emoticons)
        if start_i == 0:
            if _negated_word(lw[i - 1]):
                valence = valence * vader.N_SCALAR
        elif start_i == 1:
            if lw[i - 2] == "never" and (lw[i - 1] == "so" or lw[i - 1] == "this"):
                valence = valence * 1.25
            elif lw[i - 2] == "without" and lw[i - 1] == "doubt":
                pass
            elif _negated_word(lw[i - 2]):
                valence = valence * vader.N_SCALAR
        elif start_i == 2:
            if lw[i - 3] == "never" and (lw[i - 2] == "so" or lw[i - 2] == "this") or (
                lw[i - 1] == "so" or lw[i - 1] == "this"
            ):
                valence = valence * 1.25
            elif lw[i - 3] == "without" and (lw[i - 2] == "doubt" or lw[i - 1] == "doubt"):
                pass
            elif _negated_word(lw[i - 3]):
                valence = valence * vader.N_SCALAR
        return valence

    def _special_idioms_check(self, valence, words_and_emoticons, i):
        lw = self._lowered(words_and_emoticons)
        special = vader.SPECIAL_CASES
        onezero = f"{lw[i - 1]} {lw[i]}"
        twoonezero = f"{lw[i - 2]} {lw[i - 1]} {lw[i]}"
        twoone = f"{lw[i - 2]} {lw[i - 1]}"
        threetwoone = f"{lw[i - 3]} {lw[i - 2]} {lw[i - 1]}"
        threetwo = f"{lw[i - 3]} {lw[i - 2]}"
        for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if seq in special:
                valence = special[seq]
                break
        if len(lw) - 1 > i:
            zeroone = f"{lw[i]} {lw[i + 1]}"
            if zeroone in special:
                valence = special[zeroone]
        if len(lw) - 1 > i + 1:
            zeroonetwo = f"{lw[i]} {lw[i + 1]} {lw[i + 2]}"
            if zeroonetwo in special:
                valence = special[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):
            if n_gram in vader.BOOSTER_DICT:
                valence = valence + vader.BOOSTER_DICT[n_gram]
        return valence


_local = threading.local()


def analyzer_get() -> FastSentimentAnalyzer:
    """This thread's analyser (loading the lexicons takes ~0.1 s, so it is built once per thread)."""
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        analyzer = _local.analyzer = FastSentimentAnalyzer()
    return analyzer


def compounds(texts: Iterable[str], analyzer: FastSentimentAnalyzer | None = None) -> Iterator[float]:
    """Compound score of each text, in order."""
    analyzer = analyzer or analyzer_get()
    for text in texts:
        value = analyzer.compound(text)
        yield 0.0 if math.isnan(value) else value


# VADER's conventional bands for a compound score: >= 0.05 positive, <= -0.05 negative.
POSITIVE = 0.05
NEGATIVE = -0.05
