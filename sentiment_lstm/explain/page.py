"""A self-contained HTML page of explanations (`explain.explain`): nothing it shows is
fetched from a network (inline CSS, inline SVG, the heatmaps as PNG data URIs).

For each review: the words as typed, each coloured by its attribution (two classes:
green towards positive, red towards negative; more classes: green towards the class
explained, red against it; white none; the legend gives the scale in log-odds), words
the model did not read struck through in grey; with `--pooling attention`, the words
again, shaded by their attention weights (a second view); the curve of p(positive) after each
word (more classes: of the class explained and of the runner-up); the heatmap of each
gate's units over the words; and the completeness gap.

No TensorFlow here: the page is built from the plain result dicts.
"""
import base64
import html
import math
import re
import struct
import zlib

from sentiment_lstm.text.words import HTML_TAG_PYTHON

_BREAK = re.compile(r"<[\t\n\f\r ]*br\b", re.IGNORECASE)
GREEN, RED, WHITE, BLUE = (26, 150, 65), (215, 48, 39), (255, 255, 255), (33, 102, 172)

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
.review { white-space: pre-wrap; border: 1px solid #ccc; padding: 0.8em; border-radius: 4px; }
.review span.w { border-radius: 3px; padding: 0 1px; }
.review span.unread { color: #999; text-decoration: line-through; }
.legend { display: flex; align-items: center; gap: 0.5em; font-size: 0.85em; margin: 0.5em 0; }
.bar { width: 16em; height: 1em; border: 1px solid #ccc;
       background: linear-gradient(to right, rgb(215,48,39), white, rgb(26,150,65)); }
.bar.attention { background: linear-gradient(to right, white, rgb(33,102,172)); }
.heat { width: 100%; height: 6em; image-rendering: pixelated; border: 1px solid #ccc; }
.small { font-size: 0.85em; color: #555; }
svg text { font-size: 11px; fill: #444; }
"""


def render(reviews, results, title="Why did the model say that?"):
    """The page's HTML text for `reviews` (the texts) and their `results`.

    Example:

    >>> page = render(["A great film."], [explain.explain(classifier, "A great film.")])
    >>> page.startswith("<!DOCTYPE html>")
    True
    """
    sections = "\n".join(_section(k, review, result) for k, (review, result) in enumerate(zip(reviews, results)))
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>\n{sections}\n</body></html>\n")


def scale_ends(result):
    """`(sign, low end, high end)` of the colour scale: the attributions (of the class
    explained) times `sign` run from the low end's class (red) to the high end's
    (green). Two classes: negative to positive whichever is explained; more: against
    the class explained to towards it."""
    labels = list(result["probabilities"])
    target = result.get("target", result["label"])
    if len(labels) == 2:
        positive = "positive" if "positive" in labels else labels[1]
        negative = next(label for label in labels if label != positive)
        return (1.0 if target == positive else -1.0), negative, positive
    return 1.0, f"against {target}", target


def _section(k, review, result):
    sign, low, high = scale_ends(result)
    scale = max([abs(a) for a, r in zip(result["attributions"], result["read"]) if r] or [0.0]) or 1.0
    support, oppose = top_words(result)
    words = ", ".join(html.escape(w) for w, _ in support) or "none"
    against = ", ".join(html.escape(w) for w, _ in oppose) or "none"
    target = result.get("target", result["label"])
    explained = "" if target == result["label"] else f"; explained: {html.escape(target)}"
    return f"""<section>
<h2>Review {k + 1}: {html.escape(result['label'])} ({result['score']:.3f}{explained})</h2>
<p class="small">Read {result['read_count']} of {len(result['tokens'])} words. For it: {words}. Against it: {against}.</p>
<div class="legend"><span>towards {html.escape(low)} &minus;{scale:.3g}</span><span class="bar"></span>
<span>+{scale:.3g} towards {html.escape(high)}</span><span>(Integrated Gradients, log-odds;
struck through: not read)</span></div>
<div class="review">{_coloured_review(review, result, lambda k: (
    _colour(sign * result['attributions'][k] / scale),
    f"attribution {result['attributions'][k]:+.4f}, occlusion {result['occlusion'][k]:+.4f}"))}</div>
<p class="small">Integrated Gradients over {result['steps']} steps from a baseline of {html.escape(result['baseline'])}:
the attributions sum to {sum(result['attributions']):.4f}, F(x) &minus; F(baseline) is
{result['log_odds'] - result['baseline_log_odds']:.4f} (F(x) = {result['log_odds']:.4f}); completeness gap
{result['completeness_gap']:.2e} ({100 * relative_gap(result):.3f}%).</p>
{_attention(review, result)}
{_curves(result)}
{_heatmaps(result)}
{''.join(f'<p class="small">{html.escape(note)}</p>' for note in result.get('notes', []))}
</section>"""


def _attention(review, result):
    """`--pooling attention`: the review again, each word shaded by its attention weight in
    the text vector (a second view; attention weights are not attributions)."""
    if "attention" not in result:
        return ""
    weights = result["attention"]
    top = max([w for w, r in zip(weights, result["read"]) if r] or [0.0]) or 1.0
    return f"""<div class="legend"><span>attention 0</span><span class="bar attention"></span>
<span>{top:.3g}</span><span>(the attention pooling's weight of each word in the text vector; the weights sum
to 1)</span></div>
<div class="review">{_coloured_review(review, result, lambda k: (
    _blend(weights[k] / top, BLUE), f"attention {weights[k]:.4f}"))}</div>"""


def _coloured_review(review, result, paint):
    """The review's text with each word read in a span coloured by `paint(k)` -> `(rgb,
    title)` of the k-th word."""
    offsets = result.get("offsets")
    if offsets is None:  # the words as the vectorizer made them, one space apart
        offsets, review = [], " ".join(result["tokens"])
        at = 0
        for word in result["tokens"]:
            offsets.append((at, at + len(word)))
            at += len(word) + 1
    pieces, end = [], 0
    for k, ((start, stop), read) in enumerate(zip(offsets, result["read"])):
        pieces.append(_gap(review[end:start]))
        word = html.escape(review[start:stop])
        if read:
            colour, tip = paint(k)
            pieces.append(f'<span class="w" style="background:rgb{colour}" title="{tip}">{word}</span>')
        else:
            pieces.append(f'<span class="unread" title="not read">{word}</span>')
        end = stop
    pieces.append(_gap(review[end:]))
    return "".join(pieces)


def _gap(text):
    """Text between words, escaped, its HTML tags shown as what they do (a `<br>`: a line break)."""
    parts, end = [], 0
    for tag in HTML_TAG_PYTHON.finditer(text):
        parts.append(html.escape(text[end:tag.start()]))
        parts.append("\n" if _BREAK.match(tag[0]) else " ")
        end = tag.end()
    parts.append(html.escape(text[end:]))
    return "".join(parts)


def _colour(v):
    """`v` in [-1, 1] -> an (r, g, b) from red (-1) through white (0) to green (+1)."""
    v = max(-1.0, min(1.0, v))
    return _blend(abs(v), GREEN if v > 0 else RED)


def _blend(v, end):
    """`v` in [0, 1] -> an (r, g, b) from white (0) to `end` (1)."""
    v = max(0.0, min(1.0, v))
    return tuple(round(w + v * (e - w)) for w, e in zip(WHITE, end))


def _curves(result):
    """The heading and SVG of the word-by-word curve: p(positive) for two classes, else
    the class explained (blue) with the runner-up (orange, dashed)."""
    curves = result.get("trajectories") or {}
    if len(curves) <= 2:
        return f"<h3>p(positive) after each word</h3>\n{_trajectory_svg(result, [('#36c', result['trajectory'])])}"
    target, other = result["target"], result["runner_up"]
    title = f"p({target}) and, dashed, p({other}) after each word"
    return (f"<h3>{html.escape(title)}</h3>\n"
            + _trajectory_svg(result, [("#36c", curves[target]), ("#e08214", curves[other])], title))


def _trajectory_svg(result, lines, label="p(positive) after each word", width=800, height=180, pad=30):
    """An inline SVG of the curves `lines` (`(colour, values)`, the first solid with a
    title per point, the others dashed) over the read words, with the 0.5 line."""
    if not lines[0][1]:
        return '<p class="small">No word read.</p>'
    n = len(lines[0][1])
    x = [pad + (width - 2 * pad) * (k + 0.5) / n for k in range(n)]
    mid = pad / 2 + (height - 1.5 * pad) / 2
    bottom = height - pad
    svg = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{html.escape(label)}">'
           f'<rect x="{pad}" y="{pad / 2}" width="{width - 2 * pad}" height="{height - 1.5 * pad}" fill="none" '
           f'stroke="#ccc"/><line x1="{pad}" x2="{width - pad}" y1="{mid}" y2="{mid}" stroke="#bbb" '
           f'stroke-dasharray="4 3"/><text x="2" y="{pad / 2 + 4}">1</text><text x="2" y="{mid + 4}">0.5</text>'
           f'<text x="2" y="{bottom + 4}">0</text><text x="{width / 2 - 40}" y="{height - 8}">word {n} read →</text>']
    words = result["tokens"]
    for k, (colour, values) in reversed(list(enumerate(lines))):  # the first drawn last, on top
        y = [pad / 2 + (height - 1.5 * pad) * (1 - v) for v in values]
        line = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
        dash = ' stroke-dasharray="6 3"' if k else ""
        svg.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}/>')
        if not k:
            svg.extend(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2" fill="{colour}"><title>{html.escape(words[t])}: '
                       f'{values[t]:.3f}</title></circle>' for t, (a, b) in enumerate(zip(x, y)))
    return "".join(svg) + "</svg>"


def _heatmaps(result):
    """Each gate's units (rows) over the read words (columns) as a PNG data URI, 0 white to 1 dark blue."""
    units = result.get("gate_units") or {}
    blocks = []
    for name, matrix in units.items():
        if not matrix:
            continue
        rows = [[matrix[t][u] for t in range(len(matrix))] for u in range(len(matrix[0]))]
        pixels = [[tuple(round(255 - v * (255 - c)) for c in (33, 102, 172)) for v in row] for row in rows]
        mean = sum(result["gates"][name]) / len(result["gates"][name])
        blocks.append(f'<h3>Gate {html.escape(name)}: {len(rows)} units &times; {len(matrix)} words '
                      f'(mean {mean:.3f}; white 0, blue 1)</h3>'
                      f'<img class="heat" alt="gate {html.escape(name)} heatmap" src="data:image/png;base64,'
                      f'{base64.b64encode(png(pixels)).decode()}">')
    if result.get("cell_norm"):
        blocks.append(f'<p class="small">Cell state norm: from {result["cell_norm"][0]:.3f} after the first word '
                      f'to {result["cell_norm"][-1]:.3f} after the last.</p>')
    return "\n".join(blocks)


def png(pixels):
    """PNG bytes of `pixels`, rows of `(r, g, b)` 0-255 tuples (8-bit RGB, no filter)."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\0" + bytes(c for pixel in row for c in pixel) for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def top_words(result, k=5):
    """`(for, against)`: up to `k` read words with the largest attributions for the
    class explained and the most negative ones, each `(word, attribution)`, strongest first."""
    scored = [(w, a) for w, a, r in zip(result["tokens"], result["attributions"], result["read"]) if r]
    ranked = sorted(scored, key=lambda wa: wa[1], reverse=True)
    support = [wa for wa in ranked if wa[1] > 0][:k]
    oppose = [wa for wa in reversed(ranked) if wa[1] < 0][:k]
    return support, oppose


def relative_gap(result):
    """|`completeness_gap`| / |F(x) - F(baseline)| of `result` (0 when both are 0)."""
    span = abs(result["log_odds"] - result["baseline_log_odds"])
    return abs(result["completeness_gap"]) / span if span else (0.0 if not result["completeness_gap"] else math.inf)
