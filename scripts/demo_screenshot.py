"""A screenshot of the demo page (`sentiment-lstm serve`'s GET /) after classifying a text.

    python scripts/demo_screenshot.py MODEL_DIR [--out docs/demo.png] [--review TEXT] [--target CLASS]

Starts the server on a free loopback port, opens the page in headless Chromium, types
the text, presses Classify, picks the class `--target` to colour the words by (if
given), and saves the page as it then looks.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import browser  # noqa: E402
from benchmarks.server_process import ServerProcess  # noqa: E402

REVIEW = ("I expected little from this film, but it won me over: the two leads are wonderful together, "
          "the jokes land, and the last scene is genuinely moving. The middle drags a bit, yet I would "
          "happily watch it again.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("--out", default=str(ROOT / "docs" / "demo.png"))
    parser.add_argument("--review", default=REVIEW)
    parser.add_argument("--target", help="the class to pick in the page's class picker")
    parser.add_argument("--height", type=int, default=900, help="the window's height in pixels")
    args = parser.parse_args(argv)
    with ServerProcess(args.model_dir) as server, browser.chromium(width=1000, height=args.height) as session:
        server.wait_ready(poll=0.5)
        print(browser.classify_in_page(session, server.url("/"), args.review))
        if args.target:
            browser.pick_class(session, args.target)
        session.save_screenshot(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
