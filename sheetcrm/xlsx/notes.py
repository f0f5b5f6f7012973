"""Cell notes (Excel's hover comments), a styled header and the active tab, at part level.

``validate --mark`` explains each coloured cell in a note, so hovering over it
in Excel says what is wrong. A note needs three parts: the comments part (the
text), a VML drawing (the yellow box Excel shows) and the sheet's relationships
to both, plus a ``legacyDrawing`` element in the sheet. Our notes carry our
author name; the next run removes exactly those, with their boxes, and leaves
the owner's own notes (and any other drawing) as they are. A cell that already
holds the owner's note keeps it and gets none of ours.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from sheetcrm.xlsx.markup import xml_escape
from sheetcrm.xlsx.package import Package, column_index

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_P = rb"(?:[\w.-]+:)?"  # an optional namespace prefix
_CELL = re.compile(r"^([A-Z]{1,3})(\d+)$")

# Elements that come after legacyDrawing in a worksheet (the schema's order).
_AFTER_LEGACY = (
    rb"legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|extLst"
)


def _rel(pkg: Package, part: str, kind: str) -> tuple[str, str] | None:
    """(id, target) of the sheet's relationship of ``kind`` (comments, vmlDrawing)."""
    for rid, typ, target, _mode in pkg.rels(part):
        if typ.endswith("/" + kind) and pkg.has(target):
            return rid, target
    return None


def _row_col(cell: str) -> tuple[int, int]:
    m = _CELL.match(cell)
    assert m is not None, cell
    return int(m.group(2)) - 1, column_index(m.group(1))


# ------------------------------------------------------------------------- clearing


def clear(pkg: Package, sheet: str, author: str) -> None:
    """Remove the notes ``author`` wrote on ``sheet``, and their boxes; keep all others."""
    part = pkg.sheet_part(sheet)
    found = _rel(pkg, part, "comments")
    if found is None:
        return
    rid, comments = found
    data = pkg.read(comments)
    authors = _authors(data)
    if author not in authors:
        return
    mine = str(authors.index(author)).encode()
    block = re.compile(
        rb"<(" + _P + rb")comment\b[^>]*?\sauthorId=\"" + mine + rb"\"[^>]*>.*?</\1comment>", re.S
    )
    refs = {
        m.group(1).decode()
        for b in block.finditer(data)
        if (m := re.search(rb'\sref="([A-Z]+\d+)"', b.group(0)))
    }
    if not refs:
        return
    data = block.sub(b"", data)
    left = re.search(rb"<" + _P + rb"comment\b", data)
    if left:
        pkg.write(comments, data)
    else:  # only ours were there: the part goes with them
        pkg.remove_rel(part, rid)
        pkg.remove_part(comments)
    vml = _rel(pkg, part, "vmlDrawing")
    if vml is None:
        return
    vrid, vpart = vml
    drawing = pkg.read(vpart)
    cells = {_row_col(r) for r in refs}

    def keep(m: re.Match[bytes]) -> bytes:
        shape = m.group(0)
        if b'ObjectType="Note"' not in shape:
            return shape
        row = re.search(rb"<" + _P + rb"Row>\s*(\d+)\s*<", shape)
        col = re.search(rb"<" + _P + rb"Column>\s*(\d+)\s*<", shape)
        if row and col and (int(row.group(1)), int(col.group(1))) in cells:
            return b""
        return shape

    drawing = re.sub(rb"<(\w+):shape\b(?!type).*?</\1:shape>", keep, drawing, flags=re.S)
    if re.search(rb"<\w+:shape\b(?!type)", drawing) or left:
        pkg.write(vpart, drawing)
        return
    pkg.remove_rel(part, vrid)
    pkg.remove_part(vpart)
    xml = pkg.read(part)
    xml = re.sub(rb"<" + _P + rb"legacyDrawing\b[^>]*/>", b"", xml)
    pkg.write(part, xml)


def _authors(data: bytes) -> list[str]:
    found = re.findall(rb"<" + _P + rb"author\s*(?:/>|>(.*?)</" + _P + rb"author>)", data, re.S)
    return [f.decode("utf-8", "replace") for f in found]


# --------------------------------------------------------------------------- adding


def add(pkg: Package, sheet: str, author: str, texts: Mapping[str, str]) -> None:
    """A note on each cell of ``texts`` (``{"C14": "error: ..."}``), signed ``author``."""
    if not texts:
        return
    part = pkg.sheet_part(sheet)
    found = _rel(pkg, part, "comments")
    if found is None:
        comments = _free_name(pkg, "comments{}.xml")
        data = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<comments xmlns="' + _NS_MAIN.encode() + b'"><authors></authors>'
            b"<commentList></commentList></comments>"
        )
        pkg.write(comments, data)
        pkg.add_override(comments, _COMMENTS_TYPE)
        pkg.add_rel(part, "comments", comments)
    else:
        comments = found[1]
        data = pkg.read(comments)
    taken = {m.decode() for m in re.findall(rb"<" + _P + rb'comment\b[^>]*?\sref="([^"]+)"', data)}
    texts = {c: t for c, t in texts.items() if c not in taken}  # the owner's note stays
    if not texts:
        return
    prefix = re.search(rb"<(" + _P + rb")comments\b", data)
    p = prefix.group(1) if prefix else b""
    authors = _authors(data)
    if author not in authors:
        data = _insert_end(data, p + b"authors", b"<%sauthor>%s</%sauthor>" % (p, _x(author), p))
        authors.append(author)
    me = authors.index(author)
    items = b"".join(
        b'<%scomment ref="%s" authorId="%d"><%stext><%st xml:space="preserve">%s</%st>'
        b"</%stext></%scomment>" % (p, c.encode(), me, p, p, _x(t), p, p, p)
        for c, t in texts.items()
    )
    pkg.write(comments, _insert_end(data, p + b"commentList", items))
    _add_boxes(pkg, part, list(texts))


def _add_boxes(pkg: Package, part: str, cells: list[str]) -> None:
    """The VML boxes Excel draws the notes in, hidden until hovered."""
    found = _rel(pkg, part, "vmlDrawing")
    if found is None:
        vpart = _free_name(pkg, "drawings/vmlDrawing{}.vml")
        drawing = (
            b'<xml xmlns:v="urn:schemas-microsoft-com:vml" '
            b'xmlns:o="urn:schemas-microsoft-com:office:office" '
            b'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            b'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
            b"</xml>"
        )
        _ensure_default(pkg, "vml", _VML_TYPE)
        rid = pkg.add_rel(part, "vmlDrawing", vpart)
        xml = pkg.read(part)
        root = re.search(rb"<(" + _P + rb")worksheet\b[^>]*>", xml)
        assert root is not None
        p = root.group(1)
        decl = re.search(rb'xmlns:([\w.-]+)="' + re.escape(_NS_R.encode()) + rb'"', root.group(0))
        attr = (
            b'%s:id="%s"' % (decl.group(1), rid.encode())
            if decl
            else (b'xmlns:r="%s" r:id="%s"' % (_NS_R.encode(), rid.encode()))
        )
        element = b"<%slegacyDrawing %s/>" % (p, attr)
        after = re.search(
            rb"<"
            + re.escape(p)
            + rb"(?:"
            + _AFTER_LEGACY
            + rb")\b|</"
            + re.escape(p)
            + rb"worksheet>",
            xml,
        )
        assert after is not None
        pkg.write(part, xml[: after.start()] + element + xml[after.start() :])
    else:
        vpart = found[1]
        drawing = pkg.read(vpart)
    if b'id="_x0000_t202"' not in drawing:
        shapetype = (
            b'<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
            b'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
            b'<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        )
        drawing = _before_close(drawing, shapetype)
    used = [int(n) for n in re.findall(rb'id="_x0000_s(\d+)"', drawing)]
    first = max([1024 * 9, *used]) + 1
    shapes = b""
    for n, cell in enumerate(cells):
        row, col = _row_col(cell)
        anchor = f"{col + 1}, 15, {max(row - 1, 0)}, 10, {col + 3}, 15, {row + 4}, 4"
        shapes += (
            b'<v:shape id="_x0000_s%d" type="#_x0000_t202" style="position:absolute;'
            b'margin-left:0;margin-top:0;width:240pt;height:90pt;z-index:%d;visibility:hidden" '
            b'fillcolor="#ffffe1" o:insetmode="auto"><v:fill color2="#ffffe1"/>'
            b'<v:shadow on="t" color="black" obscured="t"/><v:path o:connecttype="none"/>'
            b'<v:textbox style="mso-direction-alt:auto"><div style="text-align:left"></div>'
            b'</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            b"<x:Anchor>%s</x:Anchor><x:AutoFill>False</x:AutoFill><x:Row>%d</x:Row>"
            b"<x:Column>%d</x:Column></x:ClientData></v:shape>"
            % (first + n, n + 1, anchor.encode(), row, col)
        )
    pkg.write(vpart, _before_close(drawing, shapes))


def _before_close(drawing: bytes, xml: bytes) -> bytes:
    close = drawing.rfind(b"</xml>")
    return drawing[:close] + xml + drawing[close:]


def _insert_end(data: bytes, tag: bytes, items: bytes) -> bytes:
    """``items`` at the end of element ``tag`` (which may be written empty: ``<tag/>``)."""
    empty = re.search(rb"<" + re.escape(tag) + rb"\s*/>", data)
    if empty:
        return data[: empty.start()] + b"<%s>%s</%s>" % (tag, items, tag) + data[empty.end() :]
    close = data.find(b"</" + tag + b">")
    return data[:close] + items + data[close:]


def _x(text: str) -> bytes:
    return xml_escape(text).replace("\r", "&#13;").encode("utf-8")


def _free_name(pkg: Package, pattern: str) -> str:
    folder = posixpath.dirname(pkg.workbook_part)
    n = 1
    while pkg.has(posixpath.join(folder, pattern.format(n))):
        n += 1
    return posixpath.join(folder, pattern.format(n))


def _ensure_default(pkg: Package, extension: str, content_type: str) -> None:
    types = pkg.read("[Content_Types].xml")
    if re.search(rb'Extension="' + extension.encode() + rb'"', types, re.I):
        return
    entry = b'<Default Extension="%s" ContentType="%s"/>' % (
        extension.encode(),
        content_type.encode(),
    )
    at = re.search(rb"<" + _P + rb"(?:Default|Override)\b", types)
    at_pos = types.rfind(b"</") if at is None else at.start()
    pkg.write("[Content_Types].xml", types[:at_pos] + entry + types[at_pos:])


# ------------------------------------------------------------- the problems sheet's look


def style_header(pkg: Package, part: str) -> None:
    """Bold white on dark blue for the header row, whatever app opens the file."""
    styles = pkg.styles
    data = styles._data()
    data, font = _append(
        data, b"fonts", b"font", b'<font><b/><sz val="11"/><color rgb="FFFFFFFF"/></font>'
    )
    data, fill = _append(
        data,
        b"fills",
        b"fill",
        b'<fill><patternFill patternType="solid"><fgColor rgb="FF1F4E78"/>'
        b'<bgColor indexed="64"/></patternFill></fill>',
    )
    assert styles.part is not None
    pkg.write(styles.part, data)
    styles._xfs = None  # styles.xml changed under it
    xf = (
        b'<xf numFmtId="0" fontId="%d" fillId="%d" borderId="0" xfId="0" applyFont="1" '
        b'applyFill="1"/>' % (font, fill)
    )
    index = styles._add_xf(xf)
    xml = pkg.read(part)
    row = re.search(rb'<row r="1"[^>]*>.*?</row>', xml, re.S)
    if row is None:
        return
    styled = re.sub(rb'<c r="([A-Z]+1)"', b'<c r="\\1" s="%d"' % index, row.group(0))
    pkg.write(part, xml[: row.start()] + styled + xml[row.end() :])


def _append(data: bytes, group: bytes, item: bytes, xml: bytes) -> tuple[bytes, int]:
    """Add ``xml`` to a list in styles.xml (fonts, fills) unless it is there; its index."""
    m = re.search(
        rb"<(" + _P + rb")" + group + rb"\b[^>]*?(?:/>|>(.*?)</\1" + group + rb">)", data, re.S
    )
    if m is None:
        return data, 0
    p = m.group(1)
    body = m.group(2) or b""
    if p:
        xml = re.sub(rb"<(/?)", rb"<\1" + p, xml)
    found = re.findall(
        rb"<" + _P + item + rb"(?=[\s/>])(?:[^>]*?/>|[^>]*?>.*?</" + _P + item + rb">)", body, re.S
    )
    if xml in found:
        return data, found.index(xml)
    tag = re.match(rb"<[^>]*?(?=/?>)", m.group(0))
    assert tag is not None
    start = re.sub(rb'\scount="\d+"', b"", tag.group(0)) + b' count="%d"' % (len(found) + 1)
    block = start + b">" + body + xml + b"</" + p + group + b">"
    return data[: m.start()] + block + data[m.end() :], len(found)


def make_active(pkg: Package, sheet: str) -> None:
    """Open the workbook on ``sheet``: the active tab, and the only selected one."""
    wb = pkg.read(pkg.workbook_part)
    names = [s for s in re.findall(rb"<" + _P + rb"sheet\b[^>]*>", wb) if re.search(rb"\bname=", s)]
    wanted = _x(sheet)
    index = next(
        (i for i, s in enumerate(names) if re.search(rb'\bname="' + re.escape(wanted) + rb'"', s)),
        None,
    )
    if index is None:
        return
    wb = _set_active_tab(wb, index)
    pkg.write(pkg.workbook_part, wb)
    target = pkg.sheet_part(sheet)
    for info in pkg.sheets:
        if info.kind != "worksheet" or not pkg.has(info.part):
            continue
        xml = pkg.read(info.part)
        view = re.search(rb"<" + _P + rb"sheetView\b[^>]*>", xml)
        if view is None:
            continue
        tag = view.group(0)
        new = re.sub(rb'\stabSelected="[^"]*"', b"", tag)
        if info.part == target:
            new = new.replace(b"sheetView", b'sheetView tabSelected="1"', 1)
        if new != tag:
            pkg.write(info.part, xml[: view.start()] + new + xml[view.end() :])


def _set_active_tab(wb: bytes, index: int) -> bytes:
    view = re.search(rb"<" + _P + rb"workbookView\b[^>]*?/?>", wb)
    if view is None:
        sheets = re.search(rb"<(" + _P + rb")sheets\b", wb)
        assert sheets is not None
        p = sheets.group(1)
        block = b'<%sbookViews><%sworkbookView activeTab="%d"/></%sbookViews>' % (p, p, index, p)
        return wb[: sheets.start()] + block + wb[sheets.start() :]
    tag = view.group(0)
    new = re.sub(rb'\sactiveTab="[^"]*"', b"", tag)
    new = re.sub(rb'\sfirstSheet="[^"]*"', b"", new)  # the tab bar must show the active tab
    new = re.sub(rb"(<" + _P + rb"workbookView)", rb'\1 activeTab="%d"' % index, new, count=1)
    return wb[: view.start()] + new + wb[view.end() :]


def remove_sheet(pkg: Package, sheet: str) -> bool:
    """Remove a sheet sheetcrm made (with its Table); False when there is none."""
    info = next((s for s in pkg.sheets if s.name.casefold() == sheet.casefold()), None)
    if info is None:
        return False
    wb = pkg.read(pkg.workbook_part)
    entries = [m for m in re.finditer(rb"<" + _P + rb"sheet\b[^>]*/>", wb)]
    index = next(
        i
        for i, m in enumerate(entries)
        if re.search(rb'\bname="' + re.escape(_x(info.name)) + rb'"', m.group(0))
    )
    m = entries[index]
    wb = wb[: m.start()] + wb[m.end() :]

    wb = re.sub(
        rb"<(" + _P + rb")definedName\b[^>]*?\slocalSheetId=\"(\d+)\"[^>]*>.*?</\1definedName>",
        lambda d: _shift_name(d, index),
        wb,
        flags=re.S,
    )
    active = re.search(rb'\sactiveTab="(\d+)"', wb)
    if active and int(active.group(1)) >= index:
        # Excel opens on the first sheet again when the removed sheet was the open one.
        tab = 0 if int(active.group(1)) == index else int(active.group(1)) - 1
        wb = wb[: active.start()] + b' activeTab="%d"' % tab + wb[active.end() :]
    pkg.write(pkg.workbook_part, wb)
    for _rid, typ, target, _mode in list(pkg.rels(info.part)):
        if typ.endswith("/table") and pkg.has(target):
            pkg.remove_part(target)
    rels_part = posixpath.join(
        posixpath.dirname(info.part), "_rels", posixpath.basename(info.part) + ".rels"
    )
    pkg.remove_part(rels_part)
    pkg.remove_part(info.part)
    pkg.remove_rel(pkg.workbook_part, info.rid)
    pkg.sheets.remove(info)
    return True


def _shift_name(d: re.Match[bytes], index: int) -> bytes:
    """A sheet-scoped name after the sheet at ``index`` went: dropped, or renumbered."""
    local = int(d.group(2))
    if local == index:
        return b""
    if local < index:
        return d.group(0)
    return d.group(0).replace(b'localSheetId="%d"' % local, b'localSheetId="%d"' % (local - 1), 1)


__all__ = ["add", "clear", "make_active", "remove_sheet", "style_header"]
