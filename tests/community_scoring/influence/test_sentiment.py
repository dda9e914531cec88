"""The faster VADER analyser must give exactly the stock analyser's scores."""
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from community_scoring.influence.sentiment import FastSentimentAnalyzer

STOCK = SentimentIntensityAnalyzer()
FAST = FastSentimentAnalyzer()
# Words that exercise negation, boosters, idioms, "but", "least", caps and emoji paths.
VOCAB = [
    "great", "good", "bad", "awful", "love", "hate", "not", "isn't", "never", "so", "this", "without", "doubt",
    "very", "kind", "of", "sort", "the", "shit", "bomb", "yeah", "right", "but", "least", "at", "no", "or", "nor",
    "GREAT", "VERY", "BAD", "helpful", "broken", "thanks", ":)", ":(", "!", "??", "kiss", "death", "\U0001F600",
    "\U0001F621", "fine.", "wow!", "cut", "mustard", "bus", "stop", "barely", "extremely", "didn't",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=30), st.sampled_from([" ", "  ", " \n"]))
def test_same_scores_as_stock_vader(words, sep):
    text = sep.join(words)
    assert FAST.polarity_scores(text) == STOCK.polarity_scores(text)


def test_compound_of_known_sentences():
    assert FAST.compound("VADER is smart, handsome, and funny.") == STOCK.polarity_scores(
        "VADER is smart, handsome, and funny.")["compound"] > 0.5
    assert FAST.compound("This is not good at all, it is awful") < -0.5
    assert FAST.compound("") == 0.0 and FAST.compound("   ") == 0.0
