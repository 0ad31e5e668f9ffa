"""The words of a review as the user typed them: where each token of `tokenizer.standardize`
and the whitespace split lies in the original text. Pure Python (no TensorFlow), so
pages and commands can use it; the patterns `standardize` runs are defined here once.
"""
import re
import unicodedata

HTML_TAG = r"<\s*/?\s*[a-zA-Z][^<>]*>"  # RE2, as `standardize` runs it
APOSTROPHES = "[\u2018\u2019\u02bc`\u00b4]"  # typographic apostrophes, which become '
WORD_CHAR = r"\pL\pN\pM"  # letters, digits, combining marks
RE2_SPACE = "[\t\n\f\r ]"  # RE2's \s; Python's \s is wider
HTML_TAG_PYTHON = re.compile(HTML_TAG.replace(r"\s", RE2_SPACE))  # HTML_TAG for Python's re


def word_spans(review):
    """`(start, end)` in `review` of each token `standardize` and the whitespace split
    make of it, in order: the words as the user typed them.

    The same rules as `standardize`, on a copy of `review` of the same length in which
    each character stands for its class (a word character `WORD_CHAR`, an apostrophe, `!`, `?` or
    a separator), so every position still points into the review: HTML tags become
    separators, then the apostrophe rules run as the same regular expressions, and
    the tokens are the runs of word characters and apostrophes and each `!` and `?`.
    `tests/test_text.py` checks that the tokens are the vectorizer's.

    Args:
        review: a Python string.

    Returns:
        A list of `(start, end)` string indices (code points), `review[start:end]` the token.

    Example:

    >>> [review[a:b] for a, b in word_spans(review := "<br />Don’t MISS it!")]
    ['Don’t', 'MISS', 'it', '!']
    """
    classes = [_char_class(c) for c in review]
    for tag in HTML_TAG_PYTHON.finditer(review):
        classes[tag.start():tag.end()] = " " * (tag.end() - tag.start())
    proxy = "".join(classes)
    proxy = re.sub(r"(^|[^w])'+", lambda m: m[1] + " " * (len(m[0]) - len(m[1])), proxy)
    proxy = re.sub(r"'+([^w]|$)", lambda m: " " * (len(m[0]) - len(m[1])) + m[1], proxy)
    return [m.span() for m in re.finditer(r"[w']+|[!?]", proxy)]


_APOSTROPHE_CHARS = frozenset("'" + APOSTROPHES[1:-1])


def _char_class(c):
    """`c`'s class in `word_spans`: "w" (a letter, digit or mark: `WORD_CHAR`), "'", "!", "?" or " "."""
    if c in _APOSTROPHE_CHARS:
        return "'"
    if c in "!?":
        return c
    if c.isascii():
        return "w" if c.isalnum() else " "
    return "w" if unicodedata.category(c)[0] in "LNM" else " "
