"""Build templates/weekly.docx: the Word template of the weekly report (docxtpl tags).

    python tools/make_weekly_docx.py            # writes templates/weekly.docx

The generated file is committed; run this again after changing it. Owners never
need this script: they open templates/weekly.docx (exported with
``sheetcrm templates export DIR``) in Word, restyle it (fonts, colours, logo,
table styles) and keep the ``{{ ... }}`` tags; the next report follows.

Tags, for anyone editing the template by hand (the context is
``sheetcrm.report.render.build_context``; templates/README.md lists every name
and tag, and tests/test_templates_doc.py checks this script makes the committed file):

- ``{{ _("Text") }}`` translates a label; ``|number``, ``|percent``, ``|money``,
  ``|date``, ``|hours``, ``|figure(kind)`` format for the report's language.
- ``{%tr for x in list %}`` / ``{%tr endfor %}`` in a row of its own repeat the
  row between them (docxtpl).
- ``{{r h.change_text }}`` is the change of a headline figure, coloured good or bad;
- ``{{ charts.interactions.image }}`` (and ``complaints``, ``sla``,
  ``satisfaction``) are the charts; ``h.change_text`` is the coloured change of a
  headline figure.
"""

from __future__ import annotations

import io
import sys
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from sheetcrm.report.documents import _stable_zip

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "templates" / "weekly.docx"

ACCENT = RGBColor(0x25, 0x63, 0xEB)
INK = RGBColor(0x1F, 0x29, 0x33)
MUTED = RGBColor(0x6B, 0x77, 0x85)
FONT = "Arial"  # LibreOffice shows it as the metric-compatible Liberation Sans
TABLE_STYLE = "Light Shading Accent 1"
_EPOCH = datetime(2026, 1, 1)  # fixed document dates: rebuilding gives the same bytes


def _styles(doc: Document) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.font.color.rgb = INK
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    normal.paragraph_format.space_after = Pt(3)
    for name, size, colour, before in (
        ("Title", 22, INK, 0),
        ("Heading 1", 14, ACCENT, 14),
        ("Heading 2", 11, MUTED, 8),
    ):
        style = doc.styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = colour
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.space_after = Pt(4)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = OxmlElement("w:rFonts")
            rpr.append(fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), FONT)
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)
    title = doc.styles["Title"]
    # the default Title has a bottom border and tight spacing; a plain large heading reads better
    ppr = title.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def _more(doc: Document, key: str) -> None:
    """The line under a shortened list: how many of how many it shows, and where to see more.

    The words come from the partials of the other reports (_macros.txt.j2): Word would
    turn the quotation marks inside a tag into ones Jinja cannot read.
    """
    rows = f"relationships.{key}"
    _para(doc, f"{{%p if {rows}_count > {rows}|length %}}")
    _para(doc, f"{{{{ text.more({rows}, {rows}_count) }}}}", colour=MUTED)
    _para(doc, "{%p endif %}")


def _para(doc: Document, text: str, *, style: str | None = None, size: float | None = None,
          colour: RGBColor | None = None, bold: bool = False,
          align: int | None = None) -> None:  # fmt: skip
    p = doc.add_paragraph(style=style)
    run = p.add_run(text)  # one run per paragraph keeps every tag in one piece for docxtpl
    if size:
        run.font.size = Pt(size)
    if colour is not None:
        run.font.color.rgb = colour
    run.bold = bold
    if align is not None:
        p.alignment = align


def _table(
    doc: Document,
    headers: list[str],
    loop: str,
    cells: list[str],
    *,
    widths: list[float],
    numeric: set[int] = frozenset(),  # type: ignore[assignment]
) -> None:
    """A table: a header row, then one row repeated by ``{%tr for %}``."""
    table = doc.add_table(rows=4, cols=len(headers))
    table.style = doc.styles[TABLE_STYLE]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    rows = table.rows
    for i, text in enumerate(headers):
        rows[0].cells[i].text = text
    rows[1].cells[0].text = "{%tr " + loop + " %}"
    for i, text in enumerate(cells):
        first, *more = text.split("\n")  # a cell of two lines: two paragraphs
        rows[2].cells[i].text = first
        for line in more:
            rows[2].cells[i].add_paragraph(line)
    rows[3].cells[0].text = "{%tr endfor %}"
    for row in rows:
        for i, cell in enumerate(row.cells):
            cell.width = Mm(widths[i])
            for p in cell.paragraphs:
                p.paragraph_format.space_after = Pt(0)
                if i in numeric:
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                for run in p.runs:
                    run.font.size = Pt(9)
    _repeat_header(rows[0])
    _grid(table, widths)
    doc.add_paragraph()


def _fixed_table(
    doc: Document, rows: list[list[str]], *, widths: list[float], numeric: set[int]
) -> None:
    """A table of fixed rows (the first is the header)."""
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = doc.styles[TABLE_STYLE]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, texts in enumerate(rows):
        for i, text in enumerate(texts):
            cell = table.rows[r].cells[i]
            cell.text = text
            cell.width = Mm(widths[i])
            for p in cell.paragraphs:
                p.paragraph_format.space_after = Pt(0)
                if i in numeric:
                    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                for run in p.runs:
                    run.font.size = Pt(9)
    _repeat_header(table.rows[0])
    _grid(table, widths)
    doc.add_paragraph()


def _grid(table, widths: list[float]) -> None:  # type: ignore[no-untyped-def]
    """Fixed column widths, which Word and LibreOffice both honour (cell widths alone are not)."""
    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(int(Mm(width).twips)))


def _repeat_header(row) -> None:  # type: ignore[no-untyped-def]
    trpr = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    trpr.append(header)


def _chart(doc: Document, name: str) -> None:
    chart = "{{ charts." + name
    _para(doc, chart + ".alt }}", size=9, colour=MUTED, bold=True)
    doc.paragraphs[-1].paragraph_format.keep_with_next = True  # a caption never ends a page
    _para(doc, chart + ".image }}", align=WD_ALIGN_PARAGRAPH.CENTER)


REASON = (
    "{% for w in r.reasons %}"
    '{% if w.reason == "no_contact" %}'
    '{{ _("No contact for {count} days", count=w.days) if w.days is not none '
    'else _("Never contacted") }}'
    '{% elif w.reason == "complaint_overdue" %}{{ _("Complaint {id} overdue", id=w.complaint_id) }}'
    '{% elif w.reason == "low_score" %}'
    '{{ _("Scored {score} on {date}", score=w.score, date=w.date|date("day")) }}'
    "{% endif %}{{ '; ' if not loop.last }}{% endfor %}"
)


def _counts(doc: Document, title: str, values: str, translate_keys: bool = True) -> None:
    """One line of counts: "By channel: Phone 11 · Email 10 · ..." (compact, never a page)."""
    key = "_(key)" if translate_keys else '(_("not_set") if key == "not_set" else key)'
    _para(
        doc,
        f'{{{{ _("{title}") }}}}: {{% for key, n in {values}.items() %}}{{{{ {key} }}}} '
        "{{ n|number }}{{ ' · ' if not loop.last }}{% else %}{{ _(\"None\") }}{% endfor %}",
    )


def build() -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(18)
    section.top_margin, section.bottom_margin = Mm(16), Mm(16)
    _styles(doc)
    footer = section.footer.paragraphs[0]
    footer.text = "{{ meta.company }} · {{ period.label }}"
    footer.runs[0].font.size = Pt(8)
    footer.runs[0].font.color.rgb = MUTED

    _para(doc, "{{ meta.company|upper }}", size=9, colour=ACCENT, bold=True)
    _para(
        doc,
        '{{ _("Weekly report") if period.is_week else _("Report") }} {{ period.label }}',
        style="Title",
    )
    _para(
        doc,
        '{{ period.start|date("day") }} – {{ period.end|date("medium") }}'
        "{% if period.is_partial %}, {{ text.so_far() }}{% endif %} · {{ text.compared() }}",
        colour=MUTED,
    )

    # What to do first: the complaints to call about, then the customers to contact.
    doc.add_heading('{{ _("This week") }}', level=1)
    doc.add_heading(
        '{{ _("Complaints to call about") }} ({{ relationships.overdue_count|number }})', level=2
    )
    _para(doc, "{%p if not relationships.overdue %}")
    _para(doc, '{{ _("Nothing breached or due soon.") }}', colour=MUTED)
    _para(doc, "{%p else %}")
    _table(
        doc,
        ['{{ _("Due") }}', '{{ _("Customer") }}', '{{ _("Who calls") }}', '{{ _("Number") }}',
         '{{ _("What") }}'],
        "for b in relationships.overdue",
        ['{{ _(b.state) }}\n{{ b.due|datetime("weekday") }}',
         "{{ b.complaint_id }} {{ b.customer or b.customer_id }}",
         '{{ b.owner or _("No owner") }}', '{{ b.phone or b.email or "–" }}',
         "{{ _(b.target) }} · {{ _(b.severity) }}{{ ' · ' if b.summary }}{{ b.summary }}"],
        widths=[32, 34, 22, 40, 46],
    )  # fmt: skip
    _para(doc, "{%p endif %}")
    _more(doc, "overdue")
    doc.add_heading(
        '{{ _("Customers to contact") }} ({{ relationships.followups_count|number }})', level=2
    )
    _para(doc, "{%p if not relationships.followups %}")
    _para(doc, '{{ _("No follow-ups due.") }}', colour=MUTED)
    _para(doc, "{%p else %}")
    _table(
        doc,
        ['{{ _("When") }}', '{{ _("Customer") }}', '{{ _("Who") }}', '{{ _("How") }}',
         '{{ _("Why") }}'],
        "for f in relationships.followups",
        ['{{ _("now")|capitalize if f.on == meta.as_of[:10] else f.on|date("weekday") }}',
         "{{ f.customer_id }} {{ f.name or f.customer_id }}",
         '{{ f.owner or _("No owner") }}', "{{ _(f.channel) }}\n{{ f.contact or '–' }}",
         "{% for reason in f.reasons %}{{ _(reason) }}{{ ', ' if not loop.last }}{% endfor %}"],
        widths=[20, 36, 16, 64, 38],
    )  # fmt: skip
    _para(doc, "{%p endif %}")
    _more(doc, "followups")

    doc.add_heading('{{ _("Headlines") }}', level=1)
    _table(
        doc,
        ['{{ _("Figure") }}', '{{ _("This period") }}', "{{ text.before_label() }}",
         '{{ _("Change") }}'],
        "for h in headlines",
        ["{{ _(h.key) }}", "{{ h.value|figure(h.kind) }}", "{{ h.previous|figure(h.kind) }}",
         "{{r h.change_text }}"],
        widths=[62, 36, 40, 36],
        numeric={1, 2, 3},
    )  # fmt: skip

    doc.add_heading('{{ _("Contact with customers") }}', level=1)
    _para(
        doc,
        '{{ _("Interactions") }}: {{ contact.interactions|number }} · '
        '{{ _("Customers contacted") }}: {{ contact.customers_contacted|number }} · '
        '{{ _("New customers") }}: {{ contact.new_customers|number }} · '
        '{{ _("Returning customers") }}: {{ contact.returning_customers|number }}',
    )
    _chart(doc, "interactions")
    _counts(doc, "By channel", "contact.by_channel")
    _counts(doc, "By type", "contact.by_type")
    _counts(doc, "By direction", "contact.by_direction")
    _counts(doc, "By staff member", "contact.by_staff", translate_keys=False)

    doc.add_heading('{{ _("Complaints and service levels") }}', level=1)
    _para(
        doc,
        '{{ _("Opened") }}: {{ complaints.opened|number }} · '
        '{{ _("Resolved") }}: {{ complaints.resolved|number }} · '
        '{{ _("Open at end of period") }}: {{ complaints.open_at_end|number }} · '
        '{{ _("first_contact_resolution") }}: '
        "{{ complaints.first_contact_resolution_rate|percent }}",
    )
    _para(
        doc,
        '{{ _("Median time to first response") }}: '
        "{{ complaints.median_first_response_hours|hours }} · "
        '{{ _("Median time to resolution") }}: {{ complaints.median_resolution_hours|hours }}',
    )
    _counts(doc, "Complaints by category", "complaints.by_category", translate_keys=False)
    _counts(doc, "Complaints by severity", "complaints.by_severity")
    doc.add_heading('{{ _("Service level met on time") }}', level=2)
    _table(
        doc,
        ['{{ _("Target") }}', '{{ _("Fell due") }}', '{{ _("Met") }}', '{{ _("Share") }}'],
        'for key in ["first_response", "resolution", "overall"]',
        ["{{ _(key) }}", "{{ complaints.sla[key].due|number }}",
         "{{ complaints.sla[key].met|number }}", "{{ complaints.sla[key].rate|percent }}"],
        widths=[80, 30, 30, 34],
        numeric={1, 2, 3},
    )  # fmt: skip
    doc.add_heading('{{ _("Service level by owner") }}', level=2)
    _para(doc, "{%p if not complaints.sla.by_owner %}")
    _para(doc, '{{ _("No targets fell due") }}', colour=MUTED)
    _para(doc, "{%p else %}")
    _table(
        doc,
        ['{{ _("Owner") }}', '{{ _("first_response") }}', '{{ _("resolution") }}',
         '{{ _("overall") }}'],
        "for owner, f in complaints.sla.by_owner.items()",
        ['{{ _("not_set") if owner == "not_set" else owner }}',
         "{{ f.first_response.rate|percent }} "
         "({{ f.first_response.met }}/{{ f.first_response.due }})",
         "{{ f.resolution.rate|percent }} ({{ f.resolution.met }}/{{ f.resolution.due }})",
         "{{ f.overall.rate|percent }}"],
        widths=[56, 40, 40, 38],
        numeric={1, 2, 3},
    )  # fmt: skip
    _para(doc, "{%p endif %}")
    _chart(doc, "complaints")
    _chart(doc, "sla")

    doc.add_heading('{{ _("Satisfaction") }}', level=1)
    _para(
        doc,
        '{{ _("Average score") }}: {{ satisfaction.average|number(1) }} {{ _("of 5") }} · '
        '{{ _("Responses") }}: {{ satisfaction.responses|number }} · '
        '{{ _("Praise") }}: {{ satisfaction.praise|number }} · '
        '{{ _("Complaints") }}: {{ satisfaction.complaints|number }} · '
        '{{ _("Praise per complaint") }}: {{ satisfaction.praise_per_complaint|number(1) }}',
    )
    _chart(doc, "satisfaction")

    doc.add_heading('{{ _("Relationships") }}', level=1)
    _para(
        doc,
        "{% for stage, n in relationships.by_stage.items() %}{{ _(stage) }}: {{ n }}"
        "{{ ' · ' if not loop.last }}{% endfor %}",
    )
    doc.add_heading('{{ _("Customers at risk") }} ({{ relationships.at_risk_count }})', level=2)
    _para(doc, "{%p if not relationships.at_risk %}")
    _para(doc, '{{ _("No customer is at risk.") }}', colour=MUTED)
    _para(doc, "{%p else %}")
    _table(
        doc,
        ['{{ _("Customer") }}', '{{ _("Owner") }}', '{{ _("Why") }}'],
        "for r in relationships.at_risk",
        ["{{ r.customer_id }} {{ r.name or r.customer_id }}", "{{ r.owner }}", REASON],
        widths=[56, 28, 90],
    )
    _para(doc, "{%p endif %}")
    _more(doc, "at_risk")

    doc.add_heading('{{ _("Sales") }}', level=1)
    _fixed_table(
        doc,
        [
            ['{{ _("Figure") }}', '{{ _("This period") }}', "{{ text.before_label() }}"],
            ['{{ _("Orders") }}', "{{ sales.orders|number }}",
             "{{ previous.sales.orders|number }}"],
            ['{{ _("revenue") }}', '{{ sales.revenue|figure("money") }}',
             '{{ previous.sales.revenue|figure("money") }}'],
            ['{{ _("Average order") }}', '{{ sales.average_order|figure("money") }}',
             '{{ previous.sales.average_order|figure("money") }}'],
            ['{{ _("Repeat-purchase share") }}', "{{ sales.repeat_purchase_share|percent }}",
             "{{ previous.sales.repeat_purchase_share|percent }}"],
            ['{{ _("Days between orders") }}', "{{ sales.median_days_between_orders|number }}",
             "{{ previous.sales.median_days_between_orders|number }}"],
        ],
        widths=[84, 45, 45],
        numeric={1, 2},
    )  # fmt: skip

    # Customer value (sheetcrm.rules.value): segments, whom to call before they slip away.
    _para(doc, "{%p if customer_value is defined %}")
    doc.add_heading('{{ _("Customer value") }}', level=1)
    _para(
        doc,
        '{{ _("Segment") }}: {% for s in customer_value.segments %}{{ _(s.segment) }} '
        '{{ s.customers|number }} ({{ "+" if s.change > 0 }}{{ s.change|number }})'
        '{{ " · " if not loop.last }}{% endfor %}',
    )
    _para(doc, "{%p if customer_value.segment_moves %}")
    _para(
        doc,
        '{{ _("Moves") }}: {% for m in customer_value.segment_moves %}{{ _(m.from) }} '
        '→ {{ _(m.to) }} {{ m.customers|number }}{{ " · " if not loop.last }}'
        "{% endfor %}",
    )
    _para(doc, "{%p endif %}")
    doc.add_heading('{{ _("Good customers slipping away: whom to call first") }}', level=2)
    _para(doc, "{%p if not customer_value.estimate %}")
    _para(
        doc,
        '{{ _("No estimate yet: {n} customers have bought on two different days; the '
        'estimate needs {min}.", n=customer_value.repeat_buyers, '
        "min=customer_value.min_repeat_buyers) }}",
    )
    _para(doc, "{%p else %}")
    _para(
        doc,
        '{{ _("very_likely_active") }} {{ customer_value.bands.very_likely_active|number }}'
        ' · {{ _("slipping") }} {{ customer_value.bands.slipping|number }} · '
        '{{ _("probably_lost") }} {{ customer_value.bands.probably_lost|number }}'
        "{% if customer_value.expected_value is not none %} · "
        '{{ _("Expected sales in the next {days} days", days=customer_value.horizon_days) }}'
        " {{ customer_value.expected_value|money(true) }}{% endif %}",
    )
    _para(doc, "{%p for c in customer_value.slipping %}")
    _para(
        doc,
        "{{ c.name or c.customer_id }} ({{ c.customer_id }}{% if c.phone or c.email %}, "
        '{{ c.phone or c.email }}{% endif %}) · {{ _("Who calls") }}: '
        '{{ c.owner or _("not_set") }} · {{ _("Still buying") }} {{ c.p_alive|percent }}'
        ' · {{ _("Usually every") }} {{ _("{n} days", n=c.usual_gap_days|number) }} · '
        '{{ _("Last order") }} {{ c.last_order|date("medium") }} · {{ _("Value at risk") }} '
        "{{ c.value_at_risk|money(true) }}",
    )
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p if not customer_value.slipping %}")
    _para(doc, '{{ _("Nobody is slipping away.") }}')
    _para(doc, "{%p endif %}")
    _para(doc, "{%p endif %}")
    doc.add_heading('{{ _("Ladder of loyalty") }}', level=2)
    _para(
        doc,
        "{{ _(\"The Customers sheet keeps each customer's present stage, not the day it "
        "changed, so stage moves in the period cannot be counted; the segment movement "
        'above shows how buying moved instead.") }}',
    )
    _para(doc, "{%p endif %}")  # fmt: skip

    # The footnotes: the figures' definitions when the context has them, else the short list.
    _para(doc, '{{ _("How these figures are counted") }}', size=8, colour=MUTED, bold=True)
    _para(doc, "{%p for d in definitions %}")
    _para(doc, "{{ d.term }}: {{ d.text }}", size=8, colour=MUTED)
    _para(doc, "{%p endfor %}")
    _para(doc, "{%p if not definitions %}")
    for text in (
        '{{ _("Service level: every first-response and resolution target that fell due in '
        "the period or was met in it; a target still open past its due time counts as "
        'missed.") }}',
        '{{ _("First-contact resolution: complaints resolved in the contact that opened them '
        "(that interaction's outcome is resolved, or it was resolved within {minutes} minutes), "
        'out of all resolved.", minutes=rules.fcr_minutes) }}',
        '{{ _("Times to respond and resolve are medians in clock hours.") }}',
    ):
        _para(doc, text, size=8, colour=MUTED)
    _para(doc, "{%p endif %}")
    _para(
        doc,
        '{{ _("Made by sheetcrm from {workbook} on {date}.", workbook=meta.workbook or '
        '_("the workbook"), date=meta.as_of|datetime("medium")) }}',
        size=8,
        colour=MUTED,
    )

    doc.core_properties.title = "Weekly report"
    doc.core_properties.author = "sheetcrm"
    doc.core_properties.created = doc.core_properties.modified = _EPOCH
    buffer = io.BytesIO()
    doc.save(buffer)
    return _stable_zip(buffer.getvalue())  # the same fixed zip dates as every report


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else TARGET
    target.write_bytes(build())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
