"""Issue 17: time from a click on an example to its first attribution view painted, in headless
Chromium, for each zoo explorer. Every click is a first view (not cached); integrated gradients,
32 steps, the default settings of the page.

Both ends are taken by the page's own clock (``performance.now()``): the click event, and the
first animation frame after the finished view entered the DOM. Playwright's polling of the
selector, which lags by up to a few hundred ms on a loaded machine, is not in the time.

``OMP_NUM_THREADS=1 python -m benchmarks.insights_first_view --clicks 5``
"""

from __future__ import annotations

import argparse
import statistics
import time

from playwright.sync_api import sync_playwright

from mmattr.insights import from_zoo
from mmattr.insights.zoo_apps import ZOO_APPS

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
DONE = ".mi-pane[data-pane='A'][data-status='done'] .mi-modality"
CLOCK = """done => {
  window.clicked = null; window.painted = null;
  document.addEventListener('click', () => { window.clicked = performance.now(); }, true);
  new MutationObserver(() => {
    if (window.clicked === null || window.painted !== null || !document.querySelector(done)) return;
    window.painted = -1;
    requestAnimationFrame(() => { window.painted = performance.now(); });
  }).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""


def first_views(browser, name: str, clicks: int) -> list[float]:
    """Seconds from each click to the painted view, examples 0..clicks-1 in order."""
    explorer = from_zoo(name)
    server = explorer.serve(port=0, block=False)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(server.url)
    page.wait_for_selector("tr.mi-example")
    page.evaluate(CLOCK, DONE)
    seconds = []
    for index in range(clicks):
        page.evaluate("() => { window.clicked = null; window.painted = null; }")
        page.click(f"tr.mi-example[data-index='{index}']")
        page.wait_for_selector(DONE)  # the click cleared the old view synchronously
        while page.evaluate("() => window.painted") in (None, -1):
            time.sleep(0.01)
        seconds.append(page.evaluate("() => (window.painted - window.clicked) / 1000"))
    page.close()
    server.stop()
    explorer.runner.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.insights_first_view")
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=list(ZOO_APPS), choices=ZOO_APPS)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        print("| zoo model | first click (s) | median of clicks (s) | max (s) |")
        print("|---|---|---|---|")
        for name in args.models:
            seconds = first_views(browser, name, args.clicks)
            print(f"| {name} | {seconds[0]:.2f} | {statistics.median(seconds):.2f} | "
                  f"{max(seconds):.2f} |", flush=True)  # fmt: skip
        browser.close()


if __name__ == "__main__":
    main()
