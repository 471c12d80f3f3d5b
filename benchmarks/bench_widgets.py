"""Benchmark of the attention explorer: the Python side and the drawing in the browser.

For T tokens and H heads (default 256 x 12: random causal attention, two maps so that
switching maps can be timed) it prints
  * Python: building the maps and the explorer (what is sent to the front end, in MB),
    and drawing the static PNG that display data and graded notebooks carry;
  * browser (Debian's Chromium through Playwright, the explorer's standalone page, no
    JupyterLab): the first drawing, then redrawing all heads as small multiples, one head,
    the lines view of one head and of all heads (the JavaScript's own time, and the time
    to the next painted frame), and one hover over a token with all heads on show.
Best of ``--repeat`` runs; a shared machine makes the figures noisy. Nothing is asserted.

Usage:
    python benchmarks/bench_widgets.py                 # 256 tokens x 12 heads
    python benchmarks/bench_widgets.py --tokens 512 --heads 8 --repeat 5
    python benchmarks/bench_widgets.py --smoke         # tiny sizes, one repeat: checks it runs
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.browser.lab: how this machine launches Chromium

from tfscourse.widget_page import explorer_page  # noqa: E402
from tfscourse.widgets import AttentionExplorer, AttentionMap  # noqa: E402

# JavaScript run in the page: change the view state, then wait for two animation frames
# (the second starts after the first frame with the new drawing was painted).
TIME_CHANGE = """async ([changes]) => {
    const model = window.explorerModel;
    const root = document.querySelector('.tfs-attn');
    const start = performance.now();
    for (const [name, value] of Object.entries(changes)) model.set(name, value);
    const js = Number(root.dataset.renderMs);
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    return [js, performance.now() - start];
}"""

TIME_HOVERS = """async ([count]) => {
    const chips = [...document.querySelectorAll('.tfs-chip[data-side=query]')];
    const start = performance.now();
    for (let k = 0; k < count; k++) {
        chips[(k * 7) % chips.length].dispatchEvent(new MouseEvent('mouseenter'));
    }
    const js = (performance.now() - start) / count;
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    return [js, performance.now() - start];
}"""


def random_causal(tokens: int, heads: int, seed: int) -> np.ndarray:
    """(heads, tokens, tokens) softmax weights under a causal mask."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(scale=2.0, size=(heads, tokens, tokens))
    scores[:, ~np.tril(np.ones((tokens, tokens), dtype=bool))] = -np.inf
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def python_side(tokens: int, heads: int, repeat: int) -> AttentionExplorer:
    labels = [f"tok{i}" for i in range(tokens)]
    weights = [random_causal(tokens, heads, seed) for seed in (0, 1)]

    def build():
        maps = {f"layer {k}": AttentionMap(w, labels, mask="causal") for k, w in enumerate(weights)}
        return AttentionExplorer(maps, "benchmark")

    explorer = build()
    megabytes = (len(explorer.weights) + len(explorer.masked)) / 1e6
    print(f"Python, {tokens} tokens x {heads} heads x 2 maps:")
    print(f"  build maps + explorer (payload {megabytes:.1f} MB)   {1000 * best_of(repeat, build):8.1f} ms")
    print(f"  static PNG of one map (all heads)          {1000 * best_of(repeat, explorer.picture):8.1f} ms")
    return explorer


def browser_side(explorer: AttentionExplorer, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.lab import CHROMIUM, launch_browser

    if not shutil.which(CHROMIUM):
        print(f"browser: skipped, no Chromium at {CHROMIUM}")
        return
    scenarios = [
        ("all heads, heatmap (small multiples)", {"selected_index": 1, "head": -1, "view": "heatmap"}),
        ("one head, heatmap", {"head": 0, "view": "heatmap"}),
        ("one head, lines", {"head": 0, "view": "lines"}),
        ("all heads, lines", {"head": -1, "view": "lines"}),
    ]
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        page_file = Path(folder) / "explorer.html"
        page_file.write_text(explorer_page(explorer))
        browser = launch_browser(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        start = time.perf_counter()
        page.goto(page_file.as_uri())
        page.evaluate("() => window.explorerReady")
        first = page.eval_on_selector(".tfs-attn", "root => Number(root.dataset.renderMs)")
        print("browser (Chromium, standalone page):                 JS ms   to frame ms")
        print(f"  first drawing, all heads (page load {1000 * (time.perf_counter() - start):.0f} ms)   {first:8.1f}")
        for name, changes in scenarios:
            runs = []
            for _ in range(repeat):
                page.evaluate(TIME_CHANGE, [{"selected_index": 0, "head": 1}])  # move away first
                runs.append(page.evaluate(TIME_CHANGE, [changes]))
            js, frame = min(runs, key=lambda r: r[1])
            print(f"  {name:<40} {js:8.1f} {frame:10.1f}")
        page.evaluate(TIME_CHANGE, [{"head": -1, "view": "heatmap"}])
        js, frame = min((page.evaluate(TIME_HOVERS, [20]) for _ in range(repeat)), key=lambda r: r[0])
        print(f"  {'hover a token, all heads (JS per hover; frame: 20 hovers)':<40} {js:8.1f} {frame:10.1f}")
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--tokens", type=int, default=256, help="sequence length T (default 256)")
    parser.add_argument("--heads", type=int, default=12, help="heads per map H (default 12)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs (default 3)")
    parser.add_argument("--smoke", action="store_true", help="16 tokens x 2 heads, one run: checks that it works")
    parser.add_argument("--no-browser", action="store_true", help="only the Python side")
    args = parser.parse_args()
    if args.smoke:
        args.tokens, args.heads, args.repeat = 16, 2, 1
    explorer = python_side(args.tokens, args.heads, args.repeat)
    if not args.no_browser:
        browser_side(explorer, args.repeat)


if __name__ == "__main__":
    main()
