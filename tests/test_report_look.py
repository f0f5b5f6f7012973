"""How the weekly report reads: what to do first, on a phone, in Word and in Norwegian.

The bundled sample workbook, reported for week 2026-W47 on Friday 20 November
at 15:00 (a week still in progress), is rendered in every format and read back:
HTML by real Chromium at phone and desk widths (driven over its DevTools pipe,
so the page is laid out at exactly 390 px), Word by python-docx and by
LibreOffice (through a PDF), text and Markdown as text. Skipped, with the
reason, where Chromium, LibreOffice or poppler is not installed.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import select
import shutil
import subprocess
import time
from dataclasses import replace
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import docx
import pytest

from sheetcrm.delivery import mail
from sheetcrm.report import charts
from sheetcrm.report import render as reports
from sheetcrm.workbook.validation import load
from tests.conftest import SAMPLE

AS_OF = datetime(2026, 11, 20, 15, 0)  # Friday afternoon, in week 47
ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
PDFTOPPM = shutil.which("pdftoppm")
#: Keep the screenshots and page images here to look at them (they go to a temp folder otherwise).
KEEP = os.environ.get("SHEETCRM_LOOK_DIR")


@pytest.fixture(scope="module")
def book():  # type: ignore[no-untyped-def]
    book, _ = load(str(SAMPLE), as_of=AS_OF)
    return book


@pytest.fixture(scope="module")
def context(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return reports.build_context(book, reports.week_period(book, AS_OF, "2026-W47"), AS_OF)


@pytest.fixture(scope="module")
def nb_context(book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    norsk = replace(book, settings=replace(book.settings, locale="nb"))
    return reports.build_context(norsk, reports.week_period(norsk, AS_OF, "2026-W47"), AS_OF)


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def customer(book, customer_id: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    rows = book.customers[book.customers["customer_id"] == customer_id]
    return dict(rows.iloc[0])


# ----------------------------------------------------------------------------- what to do first


def test_each_complaint_to_call_about_has_the_customers_number(book, context) -> None:  # type: ignore[no-untyped-def]
    overdue = context["relationships"]["overdue"]
    assert len(overdue) > 3
    for row in overdue:
        c = customer(book, row["customer_id"])
        assert (row["phone"], row["email"]) == (c["phone"], c["email"]), row["complaint_id"]
    yuki = next(row for row in overdue if row["complaint_id"] == "K-0031")
    assert yuki["phone"] == "+47 422 97 180"


def test_each_customer_to_contact_has_the_detail_of_the_suggested_channel(book, context) -> None:  # type: ignore[no-untyped-def]
    followups = context["relationships"]["followups"]
    channels = {f["channel"] for f in followups}
    assert {"phone", "email"} <= channels
    for f in followups:
        c = customer(book, f["customer_id"])
        if f["channel"] in ("phone", "sms"):
            assert f["contact"] == c["phone"], f
        elif f["channel"] == "email":
            assert f["contact"] == c["email"], f
    # scheduled for Saturday by phone: the number, not the address the old list showed


def test_a_contact_that_does_not_fit_the_channel_is_looked_up(book) -> None:  # type: ignore[no-untyped-def]
    # a scheduled follow-up by phone once came with the customer's address
    given = {
        "overdue": [{"complaint_id": "K-0031", "customer_id": "C-0033"}],
        "followups": [
            {"customer_id": "C-0015", "channel": "phone", "contact": "mateusz@example.com"},
            {"customer_id": "C-0015", "channel": "email", "contact": "+47 417 41 438"},
            {"customer_id": "C-0015", "channel": "in_person", "contact": ""},
        ],
    }
    c = customer(book, "C-0015")
    found = reports._with_contacts(book, given)
    assert [f["contact"] for f in found["followups"]] == [c["phone"], c["email"], c["phone"]]
    assert (found["overdue"][0]["phone"], found["overdue"][0]["email"]) == (
        "+47 422 97 180",
        customer(book, "C-0033")["email"],
    )


def test_the_html_page_opens_with_this_week_then_the_headlines(context) -> None:  # type: ignore[no-untyped-def]
    html = str(reports.render(context, "weekly.html.j2"))
    this_week = html.index(">This week</h2>")
    first_card = html.index('class="card"')
    assert this_week < html.index("Complaints to call about") < first_card
    assert html.index("Customers to contact") < first_card
    todo = html[this_week:first_card]
    # whom to call and the number to call, as a link a phone can dial
    assert re.search(r"Who calls</span> Amira · <a class=\"contact tel\" href=\"tel:\+4742297180\">"
                     r"\+47 422 97 180</a>", todo)  # fmt: skip
    followups = context["relationships"]["followups"]
    by_email = next(f for f in followups if f["channel"] == "email")
    assert f'href="mailto:{by_email["contact"]}"' in todo
    assert '<span class="id">K-0031</span>' in todo
    assert f'<span class="id">{followups[-1]["customer_id"]}</span>' in todo
    # the lists are not repeated further down
    assert html.count("Yuki Tanaka</strong>") == 1


def test_the_email_text_opens_with_this_week(context) -> None:  # type: ignore[no-untyped-def]
    text = str(reports.render(context, "email.txt.j2"))
    assert text.index("THIS WEEK") < text.index("HEADLINES") < text.index("Interactions  ")
    assert (
        "- Breached, due Wed 18 Nov 15:53: Yuki Tanaka (K-0031)\n"
        "  Who calls: Amira · +47 422 97 180\n"
    ) in text
    by_phone = next(f for f in context["relationships"]["followups"] if f["channel"] == "phone")
    assert "@" not in by_phone["contact"]
    assert (
        f"({by_phone['customer_id']})\n  Who: {by_phone['owner']} · Phone {by_phone['contact']}\n"
        in text
    )


def test_the_word_document_opens_with_this_week(context) -> None:  # type: ignore[no-untyped-def]
    document = docx.Document(io.BytesIO(reports.render(context, "weekly.docx")))  # type: ignore[arg-type]
    rel = context["relationships"]
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:4] == [
        "This week",
        f"Complaints to call about ({rel['overdue_count']})",
        f"Customers to contact ({rel['followups_count']})",
        "Headlines",
    ]
    calls = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert calls[0] == ["Due", "Customer", "Who calls", "Number", "What"]
    assert len(calls) == len(rel["overdue"]) + 1
    yuki = ["Breached\nWed 18 Nov 15:53", "K-0031 Yuki Tanaka", "Amira", "+47 422 97 180"]
    assert yuki in [row[:4] for row in calls]
    contact = [[c.text for c in r.cells][:4] for r in document.tables[1].rows]
    f = next(f for f in rel["followups"] if f["channel"] == "phone")
    row = [f"{f['customer_id']} {f['name']}", f["owner"], f"Phone\n{f['contact']}"]
    assert row in [r[1:] for r in contact]


def test_each_staff_digest_has_the_number_to_call_too(book) -> None:  # type: ignore[no-untyped-def]
    amira = reports.build_digest(book, "Amira", AS_OF)
    assert [(b["complaint_id"], b["phone"]) for b in amira["overdue"]] == [
        ("K-0031", "+47 422 97 180")
    ]
    text = str(reports.render(amira, "digest.txt.j2"))
    assert "- K-0031 Yuki Tanaka: Breached, Resolution due 18 Nov 15:53 · +47 422 97 180\n" in text
    html = str(reports.render(amira, "digest.html.j2"))
    assert '<a class="contact tel" href="tel:+4742297180">+47 422 97 180</a>' in html


# ----------------------------------------------------------------------------- a week in progress


def test_a_week_in_progress_says_so_in_every_format(context) -> None:  # type: ignore[no-untyped-def]
    assert context["period"]["is_partial"] is True
    assert str(context["period"]["until"]).startswith("2026-11-20T15:00")
    so_far = "so far, until Fri 20 Nov 15:00"
    for name in ("weekly.html.j2", "weekly.md.j2", "email.txt.j2", "weekly.docx"):
        shown = reports.render(context, name)
        text = docx_text(shown) if isinstance(shown, bytes) else shown
        assert so_far in text, name


def test_a_finished_week_does_not(book) -> None:  # type: ignore[no-untyped-def]
    done = reports.build_context(book, reports.week_period(book, AS_OF), AS_OF, with_charts=False)
    assert (done["period"]["is_partial"], done["period"]["until"]) == (False, None)
    done["charts"] = {}
    assert "so far" not in str(reports.render(done, "email.txt.j2"))


def test_with_last_weeks_figures_to_the_same_moment_the_labels_say_so(context) -> None:  # type: ignore[no-untyped-def]
    # what the figures give when they count last week up to the same moment
    same_span = context | {
        "previous_period": context["previous_period"] | {"until": "2026-11-13T15:00"}
    }
    html = str(reports.render(same_span, "weekly.html.j2"))
    assert "Compared with 9 Nov – Fri 13 Nov 15:00" in html
    assert "Same point last week" in html and "Last week " not in html
    whole_week = context | {
        "previous_period": context["previous_period"] | {"until": None, "is_partial": False}
    }
    whole = str(reports.render(whole_week, "weekly.html.j2"))  # counted whole: said so
    assert "Compared with 9 Nov – 15 Nov" in whole and "Same point" not in whole
    assert "Same point last week" in docx_text(reports.render(same_span, "weekly.docx"))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- words and numbers


def test_amounts_are_written_one_way_everywhere(context) -> None:  # type: ignore[no-untyped-def]
    for name in ("weekly.html.j2", "weekly.md.j2", "email.txt.j2", "weekly.docx"):
        shown = reports.render(context, name)
        text = docx_text(shown) if isinstance(shown, bytes) else shown
        amounts = re.findall(r"NOK\xa0[\d,]+(?:\.\d+)?", text)
        assert amounts, name
        assert [a for a in amounts if "." in a] == [], name  # no "NOK 2,866.00" beside "NOK 2,866"


def test_times_carry_their_unit_without_a_note_under_them(context) -> None:  # type: ignore[no-untyped-def]
    html = str(reports.render(context, "weekly.html.j2"))
    assert '<div class="note">clock hours</div>' not in html
    assert re.search(r'<div class="label">Median time to first response</div>\s*'
                     r'<div class="value">[\d.]+ (h|min|days)</div>\s*</div>', html)  # fmt: skip


def test_a_shortened_list_says_where_to_see_more_in_words(book) -> None:  # type: ignore[no-untyped-def]
    short = replace(book, settings=replace(book.settings, report_list_limit=2))
    ctx = reports.build_context(short, reports.week_period(short, AS_OF, "2026-W47"), AS_OF)
    total = ctx["relationships"]["overdue_count"]
    assert total > 2
    line = (
        f"The 2 most pressing of {total}. To see more, raise “most rows a report shows in each "
        "list” on the Settings sheet (0 shows all)."
    )
    for name in ("weekly.html.j2", "weekly.md.j2", "email.txt.j2", "weekly.docx"):
        shown = reports.render(ctx, name)
        text = docx_text(shown) if isinstance(shown, bytes) else shown
        assert line in text, name
        assert "report_list_limit" not in text, name


def test_definitions_become_the_reports_footnotes(context) -> None:  # type: ignore[no-untyped-def]
    assert context["definitions"] == [] or all("term" in d for d in context["definitions"])
    defined = context | {
        "definitions": [
            {"term": "Returning buyer", "text": "bought before this week <b>too</b>"},
            {"term": "At risk", "text": "no contact for 90 days or more"},
        ]
    }
    html = str(reports.render(defined, "weekly.html.j2"))
    assert "<dt>Returning buyer</dt><dd>bought before this week &lt;b&gt;too&lt;/b&gt;</dd>" in html
    md = str(reports.render(defined, "weekly.md.j2"))
    assert "- **Returning buyer**: bought before this week \\<b\\>too\\</b\\>" in md
    word = docx_text(reports.render(defined, "weekly.docx"))  # type: ignore[arg-type]
    assert "At risk: no contact for 90 days or more" in word
    assert "Times to respond and resolve" not in word  # the definitions replace the short list


# ----------------------------------------------------------------------------- Word


def test_word_has_the_sections_of_the_html_once(context) -> None:  # type: ignore[no-untyped-def]
    text = docx_text(reports.render(context, "weekly.docx"))  # type: ignore[arg-type]
    assert text.count("Complaints by category") == 1
    by_type, by_direction = context["contact"]["by_type"], context["contact"]["by_direction"]
    assert f"By type: Enquiry {by_type['enquiry']}" in text
    assert f"By direction: Inbound {by_direction['inbound']}" in text
    assert "Complaints by severity: Normal " in text
    # sales against last week (or the same point of it), each in whole kroner
    assert re.search(r"\nFigure \| This period \| (Last week|Same point last week)\n", text)
    assert re.search(r"\nRevenue \| NOK\xa0[\d,]+ \| NOK\xa0[\d,]+\n", text)


def test_the_tool_reproduces_the_committed_word_template() -> None:
    from tools.make_weekly_docx import TARGET, build

    assert build() == TARGET.read_bytes(), "run: python tools/make_weekly_docx.py"


# ----------------------------------------------------------------------------- Norwegian


class _Tables(HTMLParser):
    """The column headings of each table of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[str]] = []
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        self._in_th = tag == "th" or (self._in_th and tag != "td")
        if tag == "th":
            self.tables[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_th:
            self.tables[-1][-1] += data.strip()


def test_norwegian_tables_never_repeat_a_heading(nb_context) -> None:  # type: ignore[no-untyped-def]
    parser = _Tables()
    parser.feed(str(reports.render(nb_context, "weekly.html.j2")))
    document = docx.Document(io.BytesIO(reports.render(nb_context, "weekly.docx")))  # type: ignore[arg-type]
    md = str(reports.render(nb_context, "weekly.md.j2"))
    headings = [[h for h in t if h] for t in parser.tables]
    headings += [[c.text for c in t.rows[0].cells] for t in document.tables]
    headings += [
        [c.strip() for c in line.strip("|").split("|")]
        for line, rule in zip(md.splitlines(), md.splitlines()[1:], strict=False)
        if rule.startswith("|---")
    ]
    assert len(headings) > 8
    for row in headings:
        assert len(row) == len(set(row)), row
    assert ["Mål", "Forfalt", "Overholdt", "Andel"] in headings  # the service-level table


def test_norwegian_charts_write_weeks_and_shares_in_norwegian() -> None:
    asked: list[tuple[str, dict[str, Any]]] = []

    def translate(text: str, **values: Any) -> str:
        asked.append((text, values))
        return {"W{week}": "U{week}", "{n}%": "{n} %"}.get(text, text).format(**values)

    weeks = [
        {"label": f"2026-W{n}", "end": "2026-11-15", "opened": 1, "resolved": 1,
         "first_response": 0.5, "resolution": None}
        for n in (46, 47)
    ]  # fmt: skip
    assert charts.sla_trend(weeks, translate)[:4] == b"\x89PNG"
    charts.complaints_trend(weeks, translate)
    assert ("W{week}", {"week": 47}) in asked and ("{n}%", {"n": 50}) in asked


def test_norwegian_report_says_week_and_so_far_in_norwegian(nb_context) -> None:  # type: ignore[no-untyped-def]
    html = str(reports.render(nb_context, "weekly.html.j2"))
    assert "så langt, til fre. 20. nov. 15:00" in html
    assert ">Denne uken</h2>" in html and "Ringes av" in html


# ----------------------------------------------------------------------------- Chromium


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (DevTools messages, NUL-ended).

    The pipe, unlike ``--window-size``, lays a page out at any width: headless
    windows are never narrower than 500 px, and a phone is 390.
    """

    def __init__(self, executable: str, profile: Path) -> None:
        commands_in, self._commands = os.pipe()
        self._replies, replies_out = os.pipe()

        def wire() -> None:  # in the child: the pipe ends Chromium expects on fds 3 and 4
            high_in = fcntl.fcntl(commands_in, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(replies_out, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire,
            close_fds=False,  # os.pipe() ends are close-on-exec: only fds 3 and 4 pass
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(commands_in)
        os.close(replies_out)
        self._buffer = b""
        self._id = 0
        self._events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 90) -> dict[str, Any]:  # fmt: skip
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._events.append(reply)

    def wait_for(self, event: str, timeout: float = 90) -> None:
        if any(e.get("method") == event for e in self._events):
            self._events = [e for e in self._events if e.get("method") != event]
            return
        while self._read(timeout).get("method") != event:
            pass

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def open(self, url: str, width: int, height: int = 900) -> str:
        """A new tab laid out ``width`` CSS pixels wide, on ``url`` once loaded: its session."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
            session,
        )
        self.send("Page.enable", {}, session)
        self.send("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str) -> Any:
        reply = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session
        )
        return reply["result"].get("value")

    def screenshot(self, session: str, path: Path, width: int, height: int) -> None:
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}},
            session,
        )  # fmt: skip
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError, RuntimeError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


#: What a page shows at its width: whatever sticks out past the right edge (boxes and the
#: text inside them), ids split over two lines, each action card's text, and the per-day chart.
PROBE = r"""(() => {
  const width = document.documentElement.clientWidth;
  const name = (el) => `${el.tagName.toLowerCase()}.${el.className}`;
  const over = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5) over.push(`${name(el)} ends at ${box.right}`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  const wrappedIds = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 0.5)
      over.push(`text "${node.textContent.trim()}" ends at ${box.right}`);
    for (const id of node.textContent.matchAll(/\b[A-Z]{1,3}-\d{2,}\b/g)) {
      range.setStart(node, id.index);
      range.setEnd(node, id.index + id[0].length);
      if (range.getClientRects().length > 1) wrappedIds.push(id[0]);  // split over two lines
    }
  }
  const chart = document.querySelector("figure.full img");
  return {
    width, scrollWidth: document.documentElement.scrollWidth, over, wrappedIds,
    actions: [...document.querySelectorAll(".todo li.action")].map((el) => el.innerText),
    chart: chart && {shown: chart.getBoundingClientRect().width, src: chart.currentSrc},
    height: document.documentElement.scrollHeight,
  };
})()"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    chromium = Chromium(CHROMIUM, tmp_path_factory.mktemp("profile"))
    yield chromium
    chromium.close()


def _looks(folder: Path) -> Path:
    target = Path(KEEP) if KEEP else folder
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("code", ["en", "nb"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_fits_a_phone_and_a_desk(
    browser: Chromium, context: dict[str, Any], nb_context: dict[str, Any],
    tmp_path: Path, width: int, code: str,
) -> None:  # fmt: skip
    ctx = context if code == "en" else nb_context
    page = tmp_path / "weekly.html"
    page.write_text(str(reports.render(ctx, "weekly.html.j2")), encoding="utf-8")
    session = browser.open(page.as_uri(), width)
    seen = browser.evaluate(session, PROBE)
    assert seen["width"] == width
    assert seen["over"] == [] and seen["scrollWidth"] == width  # nothing cut at the right edge
    assert seen["wrappedIds"] == []
    # every action card keeps the due time, who acts, the contact detail and the reason
    overdue, followups = ctx["relationships"]["overdue"], ctx["relationships"]["followups"]
    assert len(seen["actions"]) == len(overdue) + len(followups)
    for card, row in zip(seen["actions"], overdue, strict=False):
        for part in (row["due"][11:16], row["owner"], row["phone"], row["complaint_id"]):
            assert part in card, (part, card)
    for card, row in zip(seen["actions"][len(overdue) :], followups, strict=True):
        assert row["owner"] in card and row["contact"] in card and row["customer_id"] in card
    # on a phone the per-day chart drawn for a phone, filling the width
    narrow = ctx["charts"]["interactions_narrow"]["src"]
    assert (seen["chart"]["src"] == narrow) == (width < 600)
    assert seen["chart"]["shown"] >= width * 0.8 if width < 600 else seen["chart"]["shown"] > 900
    shot = _looks(tmp_path) / f"report-{code}-{width}.png"
    browser.screenshot(session, shot, width, min(seen["height"], 12000))
    assert shot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_emails_html_fits_a_phone_too(
    browser: Chromium, context: dict[str, Any], tmp_path: Path
) -> None:
    # the e-mail carries the page's rules inlined on each element: the phone's rules must
    # still win over them
    page = tmp_path / "email.html"
    html = mail.inline_css(str(reports.render(reports.with_cid(context), "weekly.html.j2")))
    assert 'style="' in html
    page.write_text(html, encoding="utf-8")
    session = browser.open(page.as_uri(), 390)
    seen = browser.evaluate(session, PROBE)
    assert (seen["width"], seen["over"], seen["scrollWidth"]) == (390, [], 390)
    assert seen["wrappedIds"] == []
    browser.screenshot(session, _looks(tmp_path) / "email-en-390.png", 390, 2400)


# ----------------------------------------------------------------------------- LibreOffice


@pytest.mark.slow
@pytest.mark.parametrize("code", ["en", "nb"])
def test_word_through_libreoffice(
    context: dict[str, Any], nb_context: dict[str, Any], tmp_path: Path, code: str
) -> None:
    if SOFFICE is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer)")
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils)")
    ctx = context if code == "en" else nb_context
    document = tmp_path / "weekly.docx"
    document.write_bytes(reports.render(ctx, "weekly.docx"))  # type: ignore[arg-type]
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path / 'lo'}",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(document)],
        capture_output=True, timeout=240, check=True,
    )  # fmt: skip
    pdf = tmp_path / "weekly.pdf"
    pages = []
    for number in range(1, 20):
        result = subprocess.run(
            [PDFTOTEXT, "-layout", "-f", str(number), "-l", str(number), str(pdf), "-"],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            break
        pages.append(result.stdout)
    text = "\n".join(pages)
    assert 2 <= len(pages) <= 6
    # no near-empty last page: it carries at least a few lines besides the footer
    assert len([line for line in pages[-1].splitlines() if line.strip()]) >= 8
    # table headings whole: no word broken over two lines
    words = (
        ["Due", "Customer", "Who calls", "Number", "What", "When", "Who", "How", "Why",
         "Figure", "This period", "Change", "Target", "Fell due", "Met", "Share", "Owner"]
        if code == "en"
        else ["Frist", "Kunde", "Ringes av", "Nummer", "Hva", "Når", "Hvem", "Hvordan",
              "Hvorfor", "Tall", "Denne perioden", "Endring", "Mål", "Forfalt", "Overholdt",
              "Andel", "Ansvarlig"]
    )  # fmt: skip
    for word in words:
        assert re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text), word
    ids = re.findall(r"\b[KC]-\d{4}\b", text)
    assert ids and not re.search(r"\b[KC]-\s*\n", text)  # an id never split
    assert text.count("Complaints by category" if code == "en" else "Klager etter kategori") == 1
    if PDFTOPPM is not None:
        subprocess.run(
            [PDFTOPPM, "-r", "60", "-png", str(pdf), str(_looks(tmp_path) / f"word-{code}")],
            check=True, timeout=120,
        )  # fmt: skip
