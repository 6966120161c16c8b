"""The explorer in real headless Chromium (Debian's package, driven by playwright-python).

One browser for the module. The page lists examples, runs views on a click, shows each
modality and the contribution bars; the numbers in the page are explain()'s. Screenshots of
each modality's view are saved to ``$MMATTR_TEST_OUTPUT/insights`` (default: the temp folder).
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import torch
from playwright.sync_api import sync_playwright

import mmattr
from mmattr.insights import from_zoo
from tests.insights.conftest import tiny_explorer

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(os.environ.get("MMATTR_TEST_OUTPUT", tempfile.gettempdir())) / "insights"
DONE = ".mi-pane[data-pane='{}'][data-status='done']"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@contextlib.contextmanager
def _served(explorer):
    """``(explorer, server)``: the explorer served on a free port; stopped and closed after."""
    server = explorer.serve(port=0, block=False)
    try:
        yield explorer, server
    finally:
        server.stop()
        explorer.runner.close()


def _open(browser, server):
    """The page, and the errors it met: exceptions, console errors (a CSP refusal is logged
    there) and securitypolicyviolation events (the page breaks silently under a CSP)."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.expose_function("reportViolation", lambda text: errors.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => window.reportViolation("
        "`CSP ${e.violatedDirective} refused ${e.blockedURI || 'inline'}`));"
    )
    page.goto(server.url)
    page.wait_for_selector("tr.mi-example")
    return page, errors


def _wait_for(page, expression: str, timeout: float = 30.0) -> None:
    """Poll ``expression`` until true (playwright's wait_for_function evaluates a string in
    the page, which the page's CSP refuses: no 'unsafe-eval')."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({expression})"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        time.sleep(0.05)


def _shown(page, pane: str = "A") -> dict:
    """What the pane shows: method, image sources, totals and bars (value, share, width)."""
    return page.eval_on_selector(
        f".mi-pane[data-pane='{pane}']",
        """pane => ({
          heading: pane.querySelector('h3').textContent,
          images: [...pane.querySelectorAll('.mi-modality img')].map(i => i.src),
          totals: Object.fromEntries([...pane.querySelectorAll('.mi-modality:has(.mi-total)')].map(
            m => [m.dataset.modality,
                  [Number(m.dataset.total), m.querySelector('.mi-total').textContent]])),
          bars: [...pane.querySelectorAll('tr.mi-bar')].map(b => [
            b.closest('table').dataset.estimator, b.dataset.modality, Number(b.dataset.value),
            b.querySelector('.mi-fill').style.width]),
        })""",
    )


def _explain(explorer, index: int, method: str, target="predicted", **params):
    raw = {name: explorer.dataset[index][name] for name in explorer.input_names}
    torch.manual_seed(0)
    return mmattr.explain(
        explorer.model,
        raw,
        adapters=explorer.adapters,
        method=method,
        target=target,
        forward=explorer.forward,
        **params,
    )


def _steps(explorer) -> int:
    """The page's default ``n_steps`` for this explorer (the QA explorer sets its own)."""
    return explorer.state()["methods"]["integrated_gradients"]["n_steps"][2]


def _page_format(value: float) -> str:
    """The page's number format: 4 decimals, or JavaScript's toExponential(3) for tiny/huge."""
    if abs(value) >= 1e4 or (abs(value) < 1e-3 and value != 0):
        mantissa, exponent = f"{value:.3e}".split("e")
        return f"{mantissa}e{int(exponent):+d}"
    return f"{value:.4f}"


def _check_numbers(shown: dict, explanation) -> None:
    for name, attribution in explanation.attributions.items():
        total = float(attribution.double().sum())
        assert shown["totals"][name][0] == pytest.approx(total, rel=1e-6, abs=1e-9)
        assert shown["totals"][name][1] == _page_format(total)
    bars = {(estimator, modality): value for estimator, modality, value, _ in shown["bars"]}
    for estimator, contribution in explanation.contributions.items():
        for modality, value in contribution.values.items():
            assert bars[estimator, modality] == pytest.approx(value, rel=1e-6, abs=1e-9)


def test_pick_example_change_method_numbers_are_explains(browser):
    with _served(from_zoo("vqa")) as (explorer, server):
        page, errors = _open(browser, server)
        page.click("tr.mi-example[data-index='2']")
        page.wait_for_selector(DONE.format("A"))
        first = _shown(page)
        assert first["heading"].startswith("integrated_gradients")
        _check_numbers(first, _explain(explorer, 2, "integrated_gradients", n_steps=32))
        page.select_option("select[name=method]", "saliency")
        _wait_for(
            page,
            'document.querySelector("'
            + DONE.format("A")
            + " h3\")?.textContent.startsWith('saliency')",
        )
        second = _shown(page)
        _check_numbers(second, _explain(explorer, 2, "saliency"))
        assert second["images"] != first["images"]  # the attribution image changed
        widths = lambda shown: [bar[3] for bar in shown["bars"]]  # noqa: E731
        assert widths(second) != widths(first)  # and the contribution bars
        page.select_option("select[name=compare]", "input_x_gradient")
        page.wait_for_selector(DONE.format("B"))
        _check_numbers(_shown(page, "B"), _explain(explorer, 2, "input_x_gradient"))
        with page.expect_download() as download:
            page.click("button.mi-export-png")
        png = Path(download.value.path()).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert base64.b64encode(png).decode() == second["images"][0].split(",", 1)[1]
        with page.expect_download() as download:
            page.click("button.mi-export-save")
        folder = Path(tempfile.mkdtemp())
        zipfile.ZipFile(download.value.path()).extractall(folder)
        saved = mmattr.Explanation.load(folder / "explanation.json")
        totals = {k: [float(v.double().sum()), ""] for k, v in saved.attributions.items()}
        assert {k: v[0] for k, v in totals.items()} == pytest.approx(
            {k: v[0] for k, v in second["totals"].items()}, rel=1e-6
        )
        assert errors == []


def test_filter_and_bad_parameter_message(browser):
    with _served(from_zoo("vqa")) as (explorer, server):
        page, _ = _open(browser, server)
        page.fill("input.mi-filter", "(text)")
        titles = page.eval_on_selector_all(
            "tr.mi-example td:nth-child(2)", "t => t.map(x => x.textContent)"
        )
        want = [row["title"] for row in explorer.examples() if "(text)" in row["title"]]
        assert titles == want and 0 < len(want) < len(explorer.examples())
        page.fill("input[name=n_steps]", "100000")
        page.dispatch_event("input[name=n_steps]", "change")
        message = page.wait_for_selector(".mi-pane[data-pane='A'] .mi-error").text_content()
        assert message == "n_steps is 100000; expected an integer in [1, 256]"


VIEWS = [  # zoo model, example, explain's target, images shown
    ("shapes-cnn", 1, "predicted", 1),
    ("vqa", 0, "predicted", 1),
    ("keyword-audio", 3, "predicted", 1),
    ("ba-shapes-gcn", 0, "predicted", 1),
    ("qa-bert", 0, "start", 0),  # token highlights and the layers x tokens table: HTML
]


@pytest.mark.parametrize(("name", "example", "target", "images"), VIEWS)
def test_each_modality_view_screenshot(browser, name, example, target, images):
    with _served(from_zoo(name)) as (explorer, server):
        page, errors = _open(browser, server)
        page.click(f"tr.mi-example[data-index='{example}']")
        page.wait_for_selector(DONE.format("A"))
        shown = _shown(page)
        _check_numbers(
            shown,
            _explain(explorer, example, "integrated_gradients", target, n_steps=_steps(explorer)),
        )
        assert len(shown["images"]) == images
        assert all(i.startswith("data:image/png;base64,") for i in shown["images"])
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert errors == []


def _styled(page, selector: str) -> list[str]:
    """The computed background colours of the elements ``selector`` matches."""
    return page.eval_on_selector_all(
        selector, "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )


def test_qa_view_tokens_layers_and_the_end_logit(browser):
    """Question + context tokens highlighted (their inline colours applied under the CSP), the
    layers x tokens map, and the target list switching to the answer's end logit."""
    with _served(from_zoo("qa-bert")) as (explorer, server):
        page, errors = _open(browser, server)
        row = explorer.examples()[2]
        assert row["correct"] and row["label_name"] == row["prediction_name"] == "pink"
        page.click("tr.mi-example[data-index='2']")
        page.wait_for_selector(DONE.format("A"))
        start = _shown(page)
        tokens = explorer.prepared(2)["text"].meta["tokens"]
        assert page.locator(".mi-pane .mm-token[data-attr]").count() == len(tokens)
        colours = _styled(page, ".mi-pane .mm-token[data-attr]")
        assert len(set(colours)) > 5 and "rgba(0, 0, 0, 0)" not in colours
        layers = explorer.adapter.layer_token_attributions(
            explorer.model, *explorer.dataset[2]["text"], target="start"
        )  # (12 layers, tokens)
        cells = ".mi-modality[data-modality='layers x tokens'] td[data-attr]"
        shown = page.eval_on_selector_all(cells, "cs => cs.map(c => Number(c.dataset.attr))")
        assert shown == pytest.approx(layers.reshape(-1).tolist(), rel=1e-5, abs=1e-6)
        assert len(set(_styled(page, cells))) > 20  # the cells' colours applied under the CSP
        assert "answer start at token 13 ('pink')" in start["heading"]
        page.select_option("select[name=target]", "1")
        _wait_for(
            page,
            'document.querySelector("' + DONE.format("A") + ' h3")?.textContent.includes("end")',
        )
        end = _shown(page)
        steps = _steps(explorer)  # the QA explorer's own default (128)
        _check_numbers(end, _explain(explorer, 2, "integrated_gradients", "end", n_steps=steps))
        ends = page.eval_on_selector_all(cells, "cs => cs.map(c => Number(c.dataset.attr))")
        assert ends != shown and len(ends) == len(shown)  # the layers map of the end logit
        page.screenshot(path=str(SCREENSHOTS / "qa-bert-end.png"), full_page=True)
        assert errors == []


def test_the_page_runs_under_its_csp_and_the_checks_see_a_refusal(browser):
    """An injected inline script does not run and an inline style is not applied; both are
    reported, so the other tests' ``errors == []`` means no refusal happened there."""
    with _served(tiny_explorer()) as (explorer, server):
        page, errors = _open(browser, server)
        assert errors == []
        page.evaluate(
            """() => {
              const script = document.createElement('script');
              script.textContent = 'window.injected = 1';
              document.body.append(script);
              const box = document.createElement('div');
              box.id = 'styled';
              box.setAttribute('style', 'color: rgb(255, 0, 0)');
              document.body.append(box);
            }"""
        )
        _wait_for(page, "document.getElementById('styled')")
        time.sleep(0.3)  # the violation events are queued
        assert page.evaluate("() => window.injected") is None
        colour = page.evaluate("() => getComputedStyle(styled).color")
        assert colour != "rgb(255, 0, 0)"
        refused = [e for e in errors if e.startswith("CSP ")]
        assert sorted(refused) == [
            "CSP script-src-elem refused inline",
            "CSP style-src-attr refused inline",
        ]


def test_page_stays_responsive_and_moving_on_cancels(browser):
    with _served(tiny_explorer()) as (explorer, server):
        model = explorer.model
        try:
            page, errors = _open(browser, server)
            model.calls, model.block_at = 0, 1  # the next view's first forward waits on the gate
            page.click("tr.mi-example[data-index='1']")
            assert model.started.wait(10)
            page.wait_for_selector(".mi-pane[data-pane='A'] .mi-progress")  # progress while it runs
            page.fill("input.mi-filter", "question 2")  # the page still answers
            assert page.eval_on_selector_all("tr.mi-example", "rows => rows.length") == 1
            page.click("tr.mi-example[data-index='2']")  # move on: the running view is cancelled
            _wait_for(page, "document.querySelectorAll('.mi-pane').length === 1")
            first = next(job for job in explorer.runner.jobs.values() if job.settings.example == 1)
            deadline = time.monotonic() + 10  # the page posts the cancel without waiting
            while not first.cancel_event.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)
            model.gate.set()
            page.wait_for_selector(DONE.format("A"))
            assert first.wait(10) and first.status == "cancelled"
            assert _shown(page)["heading"].startswith("integrated_gradients")
            assert page.eval_on_selector(".mi-chosen", "row => row.dataset.index") == "2"
            assert all(not m._forward_hooks for m in model.modules()) and not model.training
            assert errors == []
        finally:
            model.gate.set()


MOCK_WIDGET = """async ([state, token]) => {
  // anywidget's model interface, as a kernel-backed widget gives it to render()
  const values = {state, selection: {}, result: {}}, handlers = {}, sent = [];
  const model = {
    get: (k) => values[k], set: (k, v) => { values[k] = v; },
    save_changes: () => sent.push(JSON.parse(JSON.stringify(values.selection))),
    on: (e, f) => { (handlers[e] ||= []).push(f); }, off: () => {},
  };
  window.widgetModel = {values, handlers, sent};
  const explorer = await import('./static/explorer.js?token=' + token);
  const el = document.createElement('div');
  el.id = 'widget';
  document.body.replaceChildren(el);
  explorer.default.render({model, el});
}"""


def test_widget_front_end_with_the_kernels_values(browser):
    with _served(from_zoo("vqa")) as (explorer, server):
        widget = explorer.widget()
        page, errors = _open(browser, server)
        page.evaluate(MOCK_WIDGET, [widget.state, server.token])
        assert page.locator("#widget button.mi-export-save").count() == 0  # no server to save
        page.click("#widget tr.mi-example[data-index='5']")
        page.select_option("#widget select[name=method]", "saliency")
        sent = page.evaluate("window.widgetModel.sent")
        assert sent[-1] == {
            "A": {"example": 5, "method": "saliency", "target": "predicted", "baseline": "adapter"}
        }
        widget.set_state({"selection": sent[-1]})  # what the comm delivers to the kernel
        result = widget.wait()
        page.evaluate(
            "r => { window.widgetModel.values.result = r;"
            " window.widgetModel.handlers['change:result'].forEach(f => f()); }",
            result,
        )
        _check_numbers(_shown(page), _explain(explorer, 5, "saliency"))
        assert errors == []


def test_story_lm_view_prompt_tokens_and_the_generated_token_table(browser):
    """story-lm in the page: the prompt's tokens highlighted (the answer's own token in the
    fact the strongest), and the prompt x generated tokens table with LLMAttribution's values."""
    with _served(from_zoo("story-lm")) as (explorer, server):
        page, errors = _open(browser, server)
        page.click("tr.mi-example[data-index='0']")
        page.wait_for_selector(DONE.format("A"))
        shown = _shown(page)
        prompt = mmattr.TextTokenInput(explorer.dataset[0]["prompt"], explorer.tokenizer)
        method = mmattr.FeatureAblation(explorer.model)
        expected = mmattr.LLMAttribution(method, explorer.tokenizer).attribute(prompt, "delhi")
        assert shown["totals"]["prompt"][0] == pytest.approx(float(expected.seq_attr.sum()))
        tokens = page.locator(".mi-pane .mm-token[data-attr]")
        assert tokens.count() == len(expected.input_tokens) == 25
        cells = ".mi-modality[data-modality='prompt tokens x generated tokens'] td[data-attr]"
        values = page.eval_on_selector_all(cells, "cs => cs.map(c => Number(c.dataset.attr))")
        assert values == pytest.approx(expected.token_attr.reshape(-1).tolist(), rel=1e-5)
        assert "generated answer 'delhi'" in shown["heading"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "story-lm.png"), full_page=True)
        assert errors == []
