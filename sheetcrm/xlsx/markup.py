"""Small XML helpers shared by every part: namespaces, safe parsing, attributes, cell text."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from sheetcrm.errors import Problem, SheetCRMError
from sheetcrm.xlsx import safety

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_R_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=False
)

_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Every "_" that starts an _xHHHH_ sequence, overlapping ones too: in "_x005F_x0041_"
# the "_" closing the first sequence also opens the second, and Excel would decode both.
_X_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
TEXT_LIMIT = 32_767  # Excel's limit of characters (UTF-16 code units) in one cell

_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])(?:[^>]*?/>|[^>]*?>.*?</(?:[\w.-]+:)?c>)", re.S)


def _attrs(start_tag: bytes) -> dict[bytes, bytes]:
    return {
        m.group(1): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(start_tag)
    }


def _start_tag(fragment: bytes) -> bytes:
    end = fragment.find(b">")
    return fragment[: end + 1]


def _set_attr(start_tag: bytes, name: bytes, value: bytes | None) -> bytes:
    """Set (or with None remove) one attribute of an element's start tag."""
    pat = re.compile(rb"\s" + re.escape(name) + rb"""\s*=\s*(?:"[^"]*"|'[^']*')""")
    if pat.search(start_tag):
        if value is None:
            return pat.sub(b"", start_tag, count=1)
        return pat.sub(b" " + name + b'="' + value + b'"', start_tag, count=1)
    if value is None:
        return start_tag
    cut = len(start_tag) - (2 if start_tag.endswith(b"/>") else 1)
    return start_tag[:cut] + b" " + name + b'="' + value + b'"' + start_tag[cut:]


def _check_safe(name: str, data: bytes, workbook: str = "the workbook") -> None:
    safety.check_xml(name, data[:8192], workbook)


def _parse(name: str, data: bytes, workbook: str = "the workbook") -> etree._Element:
    _check_safe(name, data, workbook)
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SheetCRMError(
            Problem("not_a_workbook", f"the workbook part {name} is not valid XML: {exc}")
        ) from None


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _find(root: etree._Element, local: str) -> etree._Element | None:
    """The first element named ``local`` (in any namespace) at or under ``root``."""
    return next((el for el in root.iter() if _local(el.tag) == local), None)


def _qname(scope: etree._Element, ns: str, local: str, fallback: str) -> tuple[bytes, bytes]:
    """How to spell element or attribute ``local`` of namespace ``ns`` written inside ``scope``.

    Returns the qualified name and a namespace declaration to put on the new element
    (empty when ``ns`` is already in scope there). Owners' tools declare namespaces
    wherever they like (openpyxl puts ``xmlns:r`` on each ``<sheet>``, others use
    ``x:`` or ``d3p1:``), so the prefix is looked up in scope, never assumed.
    """
    in_scope = [p for p, uri in scope.nsmap.items() if uri == ns]
    if None in in_scope:
        return local.encode(), b""
    if in_scope:
        return f"{in_scope[0]}:{local}".encode(), b""
    return f"{fallback}:{local}".encode(), f' xmlns:{fallback}="{ns}"'.encode()


def xml_escape(data: str, entities: Mapping[str, str] | None = None) -> str:
    """``xml.sax.saxutils.escape``: ``&``, ``<``, ``>``, then each of ``entities``.

    Here, not imported: xml.sax.saxutils imports urllib.request, and with it http,
    email and ssl, which reading a workbook never needs.
    """
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for key, value in (entities or {}).items():
        data = data.replace(key, value)
    return data


def _text(value: str) -> bytes:
    """A str as the escaped content of a <t xml:space="preserve"> element."""
    value = _X_ESCAPE.sub("_x005F_", value)  # Excel decodes _xHHHH_: keep it literal
    value = xml_escape(value).replace("\r", "&#13;")
    return value.encode("utf-8")


def text_length(value: str) -> int:
    """The length of a text as Excel counts it: in UTF-16 code units."""
    if len(value) <= TEXT_LIMIT // 2:  # cannot be over the limit: skip the encoding
        return len(value)
    return len(value.encode("utf-16-le")) // 2


def show_text(text: object) -> str:
    """A cell's text as a message quotes it: short, on one line."""
    one = " ".join(str(text).split())
    return repr(one if len(one) <= 40 else one[:37] + "...")


def _check_chars(value: str, column: str, sheet: str) -> None:
    length = text_length(value)
    if length > TEXT_LIMIT:
        raise SheetCRMError(
            Problem(
                "text_too_long",
                f"the text for {column} is {length:,} characters long, but an Excel cell "
                f"holds at most {TEXT_LIMIT:,}; nothing was written",
                sheet=sheet,
                column=column,
                hint=f"shorten it to {TEXT_LIMIT:,} characters or fewer (or split it over "
                "two records) and try again",
            )
        )
    m = _BAD_XML_CHARS.search(value)
    if m:
        ch = m.group(0)
        raise SheetCRMError(
            Problem(
                "invalid_value",
                f"the value for {column} holds the character U+{ord(ch):04X}, which an Excel "
                "workbook cannot store; nothing was written",
                sheet=sheet,
                column=column,
                value=value,
                hint="remove the control character and try again",
            )
        )


def _unescape(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    if "&" in text:
        import html

        text = html.unescape(text)
    return text


def _decode_x(text: str) -> str:
    """Excel's _xHHHH_ escapes decoded (_x005F_ is a literal underscore)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
