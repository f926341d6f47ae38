"""Writing XMP: the capture date and tags as a sidecar file, or merged into a JPEG's XMP
packet (reading dates for detection is xmp.py's job).

Properties written (the ones photo managers read — digiKam, Lightroom, darktable,
Apple/Google Photos importers):
  exif:DateTimeOriginal, xmp:CreateDate, photoshop:DateCreated  the capture time, with
      its offset when known, and with reduced precision ("2019-06-15", "2019-06") when
      only the day or month is known: XMP dates may be truncated, EXIF dates may not;
  dc:subject                                                    the tags, as a bag;
  tiff:Orientation                                              how a person turned it (1-8).
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from .xmp import NS

DATE_PROPERTIES = (("exif", "DateTimeOriginal"), ("xmp", "CreateDate"), ("photoshop", "DateCreated"))
PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
PACKET_END = '<?xpacket end="w"?>'
TOOLKIT = "MediaParser"


class XmpError(ValueError):
    """An XMP packet that cannot be read or merged safely."""


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _clean(text: str) -> str:
    # XML 1.0 forbids most control characters; tags come from folder names people typed.
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 0x20)


def sidecar(date: str | None, tags: list[str] | tuple[str, ...], orientation: int | None = None) -> bytes:
    """A complete .xmp sidecar file (UTF-8) with the date properties, tags and orientation."""
    spaces = ("dc", "xmp", "exif", "photoshop") + (("tiff",) if orientation is not None else ())
    lines = [
        PACKET_BEGIN.rstrip("\n"),
        f'<x:xmpmeta xmlns:x="{NS["x"]}" x:xmptk="{TOOLKIT}">',
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">',
        '  <rdf:Description rdf:about=""',
        "".join(f'\n    xmlns:{p}="{NS[p]}"' for p in spaces) + ">",
    ]
    if date:
        lines += [f"   <{p}:{n}>{_escape(date)}</{p}:{n}>" for p, n in DATE_PROPERTIES]
    if orientation is not None:
        lines.append(f"   <tiff:Orientation>{int(orientation)}</tiff:Orientation>")
    if tags:
        lines.append("   <dc:subject>\n    <rdf:Bag>")
        lines += [f"     <rdf:li>{_escape(_clean(t))}</rdf:li>" for t in tags]
        lines.append("    </rdf:Bag>\n   </dc:subject>")
    lines += ["  </rdf:Description>", " </rdf:RDF>", "</x:xmpmeta>", PACKET_END, ""]
    return "\n".join(lines).encode("utf-8")


def _parse(packet: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The packet's root element and the namespace prefixes it declares."""
    text = packet.decode("utf-8", "strict") if isinstance(packet, bytes) else packet
    text = text.lstrip("\ufeff")
    prefixes: dict[str, str] = {}
    try:
        # one pass gives both: the declarations as they come, and the tree (`.root`)
        events = SafeET.iterparse(io.StringIO(text), events=("start-ns",), forbid_dtd=True)
        for _event, (prefix, uri) in events:
            prefixes.setdefault(prefix, uri)
        root = events.root
    except DefusedXmlException:
        raise XmpError("the XMP packet declares a DTD, which XMP never needs") from None
    except ET.ParseError as exc:
        raise XmpError(f"the XMP packet is not well-formed XML ({exc})") from None
    return root, prefixes


def _rdf(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        raise XmpError("the XMP packet has no rdf:RDF element")
    return rdf


def read(packet: bytes) -> dict:
    """{'dates': {'exif:DateTimeOriginal': ...}, 'subjects': [...]} from a packet or sidecar, and
    'orientation' where it states one."""
    root, _ = _parse(packet)
    rdf = _rdf(root)
    dates: dict[str, str] = {}
    subjects: list[str] = []
    orientation = None
    for desc in rdf.findall(_q("rdf", "Description")):
        element = desc.find(_q("tiff", "Orientation"))
        value = element.text if element is not None else desc.get(_q("tiff", "Orientation"))
        orientation = int(value) if value and value.strip().isdigit() else orientation
        for prefix, name in DATE_PROPERTIES:
            value = desc.get(_q(prefix, name))
            element = desc.find(_q(prefix, name))
            if element is not None:
                value = (element.text or "").strip()
            if value:
                dates[f"{prefix}:{name}"] = value
        for li in desc.iterfind(f"{_q('dc', 'subject')}/*/{_q('rdf', 'li')}"):
            if li.text and li.text not in subjects:
                subjects.append(li.text)
    return {"dates": dates, "subjects": subjects, **({"orientation": orientation} if orientation else {})}


def merge(
    packet: bytes | None,
    date: str | None,
    tags: list[str] | tuple[str, ...],
    remove_dates: bool,
    orientation: int | None = None,
) -> bytes:
    """An XMP packet for embedding (or a sidecar people's programs wrote, brought up to date):
    the existing one (kept, property for property) with the date properties set (or removed,
    when `remove_dates` and no date), the tags added to dc:subject and the orientation set.
    Without an existing packet this is the sidecar content."""
    if not packet:
        return sidecar(date, tags, orientation)
    root, prefixes = _parse(packet)
    rdf = _rdf(root)
    descriptions = rdf.findall(_q("rdf", "Description"))
    touched = {_q(p, n) for p, n in DATE_PROPERTIES} if (date or remove_dates) else set()
    if orientation is not None:
        touched.add(_q("tiff", "Orientation"))
    subjects = _take_out(descriptions, touched)
    for tag in tags:
        if tag not in subjects:
            subjects.append(_clean(tag))
    # every rdf:Description of a packet must describe the same resource
    about = next((d.get(_q("rdf", "about")) for d in descriptions if d.get(_q("rdf", "about"))), "")
    _add_description(rdf, about, date, subjects, orientation)
    if root.tag == _q("rdf", "RDF"):
        meta = ET.Element(_q("x", "xmpmeta"))
        meta.append(root)
        root = meta
    return (PACKET_BEGIN + _serialize(root, prefixes) + "\n" + PACKET_END).encode("utf-8")


def _take_out(descriptions: list[ET.Element], touched: set[str]) -> list[str]:
    """Remove the properties this writer replaces (the `touched` dates, dc:subject) from the
    packet's descriptions; returns the subjects that were there."""
    subjects: list[str] = []
    for desc in descriptions:
        for key in list(desc.attrib):
            if key in touched:
                del desc.attrib[key]
        for child in list(desc):
            if child.tag == _q("dc", "subject"):
                subjects += [li.text for li in child.iter(_q("rdf", "li")) if li.text]
                desc.remove(child)
            elif child.tag in touched:
                desc.remove(child)
    return subjects


def _add_description(
    rdf: ET.Element, about: str, date: str | None, subjects: list[str], orientation: int | None = None
) -> None:
    ours = ET.SubElement(rdf, _q("rdf", "Description"), {_q("rdf", "about"): about})
    if date:
        for prefix, name in DATE_PROPERTIES:
            ET.SubElement(ours, _q(prefix, name)).text = date
    if orientation is not None:
        ET.SubElement(ours, _q("tiff", "Orientation")).text = str(int(orientation))
    if subjects:
        bag = ET.SubElement(ET.SubElement(ours, _q("dc", "subject")), _q("rdf", "Bag"))
        for subject in subjects:
            ET.SubElement(bag, _q("rdf", "li")).text = subject


# --- writing with chosen prefixes ---------------------------------------------------------
# ElementTree names namespaces from one process-wide table (register_namespace), which
# threads writing at once would race on. Instead each packet gets its own table, and the
# tree is written with its names already prefixed, declarations on the root, as
# ElementTree itself would have written them.

_XML_NS = "http://www.w3.org/XML/1998/namespace"  # xml:lang needs no declaration
_RESERVED = re.compile(r"ns\d+$")  # ElementTree's own generated prefixes


def _prefix_table(prefixes: dict[str, str]) -> dict[str, str]:
    """URI -> prefix: the packet's own prefixes (so readers see what they had), then ours
    for the namespaces this writer uses. A later entry replaces any entry with the same
    URI or prefix."""
    table = {_XML_NS: "xml"}
    chosen = [(p, u) for p, u in prefixes.items() if p and not _RESERVED.match(p)] + list(NS.items())
    for prefix, uri in chosen:
        table = {u: p for u, p in table.items() if u != uri and p != prefix}
        table[uri] = prefix
    return table


def _serialize(root: ET.Element, prefixes: dict[str, str]) -> str:
    """The tree (changed in place: its names get their prefixes) as XML text."""
    table = _prefix_table(prefixes)
    declared: dict[str, str] = {}  # URI -> prefix, in order of first use

    def name(qname: str) -> str:
        if not qname.startswith("{"):
            return qname
        uri, local = qname[1:].rsplit("}", 1)
        prefix = declared.get(uri)
        if prefix is None:
            prefix = table.get(uri) or f"ns{len(declared)}"
            if prefix != "xml":
                declared[uri] = prefix
        return f"{prefix}:{local}"

    for element in root.iter():  # document order, tag then attributes: prefixes numbered as ElementTree does
        element.tag = name(element.tag)
        element.attrib = {name(key): value for key, value in element.attrib.items()}
    declarations = {f"xmlns:{p}": uri for uri, p in sorted(declared.items(), key=lambda item: item[1])}
    root.attrib = {**declarations, **root.attrib}
    return ET.tostring(root, encoding="unicode")
