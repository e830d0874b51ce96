"""In a real browser, text escaped by core.text.markdown_literal reads exactly as typed in every Markdown element.

Streamlit 1.67 renders titles, captions, alerts, expander and tab labels,
widget labels, radio options, buttons and metric labels, values and deltas
as Markdown, and so are st.table cells, with plugins that act after escapes
are resolved (bare links, emoji, icons, arrows). The page tests check that the app escapes; this
checks that the escaping holds in Streamlit's own renderer: the text reads
as typed, no image, link, formula, icon, colour or list appears, and the
browser fetches nothing from the hosts the texts name. It also confirms
that the elements the app leaves unescaped (st.text, selectbox options in
the box and in the open list, multiselect options) show raw text literally.
"""

from __future__ import annotations

import re

from tests.browser.conftest import Server, open_app
from tests.literal_text import CORPUS

MARKDOWN_KINDS = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success",
                  "expander", "tab", "checkbox", "toggle", "radio", "button", "input", "metric", "table")
PLAIN_KINDS = ("text", "selectbox", "multiselect")
HEADINGS = {"title", "header", "subheader"}
# Anything Markdown would have made of the texts; none may appear inside a rendered text.
MADE_BY_MARKDOWN = ("img, a:not([href^='#']), .katex, span[role='img'], [class*='stMarkdownColored'], "
                    ".stMarkdownBadge, strong, em, del, code, pre, ul, ol, li, blockquote, table, hr, input, sup, "
                    "streamlit-help-icon, [data-testid='stTooltipIcon']")
TEXTS = "[data-testid='stMarkdownContainer'], [data-testid='stCaptionContainer']"


def _normal(text: str) -> str:
    return " ".join(text.replace("\u2060", "").replace("\u00a0", " ").split())


def _settle(page, box) -> None:
    # Elements off screen stay skeletons until scrolled to; lazily loaded renderers (KaTeX, emoji) follow.
    box.scroll_into_view_if_needed()
    page.wait_for_function("(el) => !el.querySelector('[data-testid=\"stSkeleton\"]')", arg=box.element_handle(),
                           timeout=20000)


def _open_list_problems(page, box, expected: str, where: str) -> list[str]:
    box.get_by_role("button", name="Open").click()
    options = page.get_by_role("listbox")
    options.wait_for(timeout=10000)
    found = [] if expected in _normal(options.inner_text()) else [f"{where} list: reads {options.inner_text()!r}"]
    if options.locator("img, a, strong, em, .katex").count():
        found.append(f"{where} list: renders Markdown")
    page.keyboard.press("Escape")
    options.wait_for(state="hidden", timeout=10000)
    return found


def test_escaped_text_reads_as_typed_in_every_markdown_element(browser, tmp_path):
    server = Server(tmp_path, "tests/browser/literal_app.py")
    server.start()
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        requests: list[str] = []
        dialogs: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        open_app(page, server.url)
        page.wait_for_selector(f".st-key-plain_{len(CORPUS) - 1}_multiselect", timeout=60000)
        problems, checked = [], 0
        for index, text in enumerate(CORPUS):
            expected = _normal(text)
            for kind in MARKDOWN_KINDS + PLAIN_KINDS:
                box = page.locator(f".st-key-{'md' if kind in MARKDOWN_KINDS else 'plain'}_{index}_{kind}")
                where = f"text {index} in {kind}"
                _settle(page, box)
                reads, wanted = _normal(box.inner_text()), expected
                if kind == "selectbox":  # a one-line input: the line breaks are dropped, nothing else
                    reads, wanted = box.locator("input").input_value().replace("\n", ""), text.replace("\n", "")
                if wanted not in reads:
                    problems.append(f"{where}: reads {reads[:200]!r}")
                if kind == "selectbox":
                    problems += _open_list_problems(page, box, expected, where)
                inside = box.locator(TEXTS)
                made = inside.locator(MADE_BY_MARKDOWN).count() if kind in MARKDOWN_KINDS else 0
                made += box.locator("img, a:not([href^='#'])").count()
                headings = inside.locator("h1, h2, h3, h4, h5, h6").count()
                if made or headings != (1 if kind in HEADINGS else 0):
                    problems.append(f"{where}: {made} rendered element(s), {headings} heading(s)")
                checked += 1
        fetched = [url for url in requests if re.search(r"tracker\.example|evil\.example|/x$", url)]
        print(f"literal text in the browser: {len(CORPUS)} texts x {len(MARKDOWN_KINDS)} Markdown and "
              f"{len(PLAIN_KINDS)} plain elements, {checked} checked")
        assert not problems, "\n".join(problems)
        assert not fetched and not dialogs, (fetched, dialogs)
        assert checked == len(CORPUS) * (len(MARKDOWN_KINDS) + len(PLAIN_KINDS))
    finally:
        server.stop()
