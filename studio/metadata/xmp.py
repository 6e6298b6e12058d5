"""XMP packets: read the properties other tools store there (Draw Things), write the studio's provenance.

Reading never trusts the packet: it is size-capped by the chunk reader, a packet declaring a DTD or entities is
refused outright (the XML "billion laughs" and external-entity tricks need one), and a malformed packet is
simply no properties.

Writing marks the picture as AI-made the way IPTC asks (``Iptc4xmpExt:DigitalSourceType`` =
``trainedAlgorithmicMedia``, which photo tools, stock sites and social networks read), with the creator tool
and the model in the standard places (``xmp:CreatorTool``, IPTC ``AISystemUsed``; the prompt stays in the
A1111 text).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
"""IPTC's term for "created by a trained model" (the NewsCodes digital source type vocabulary)."""

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_FORBIDDEN = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def xmp_properties(packet: str) -> dict[str, str]:
    """The simple properties of an XMP packet by local name (``CreatorTool``, ``UserComment``,
    ``description``, ...). A language alternative (``rdf:Alt``) gives its ``x-default`` (or first) item; a list
    (``rdf:Seq``/``rdf:Bag``) its items joined by ", ". Never raises; ``{}`` for anything unreadable."""
    if not packet or _FORBIDDEN.search(packet):
        return {}
    start = packet.find("<x:xmpmeta")
    if start < 0:
        start = packet.find("<rdf:RDF")
    end_tag = "</x:xmpmeta>" if packet.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = packet.find(end_tag, start)
    if start < 0 or end < 0:
        return {}
    try:
        root = ElementTree.fromstring(packet[start : end + len(end_tag)])
    except (ElementTree.ParseError, ValueError, RecursionError):
        return {}
    found: dict[str, str] = {}
    for description in root.iter(f"{_RDF}Description"):
        for name, value in description.attrib.items():
            if not name.startswith(_RDF):
                found.setdefault(_local(name), value)
        for child in description:
            text = _value(child)
            if text is not None:
                found.setdefault(_local(child.tag), text)
    return found


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _value(element: ElementTree.Element) -> str | None:
    container = next(iter(element), None)
    if container is None:
        return element.text or ""
    items = [item for item in container if item.tag == f"{_RDF}li"]
    if not items:
        return None  # a structure (rdf:parseType="Resource" and the like): nothing a settings reader needs
    if container.tag == f"{_RDF}Alt":
        default = next((item for item in items if item.get(_XML_LANG) == "x-default"), items[0])
        return default.text or ""
    return ", ".join(item.text or "" for item in items)


def provenance_xmp(creator_tool: str, model: str = "") -> str:
    """An XMP packet saying the picture was made by a trained model, with ``creator_tool`` and ``model``.

    Plain ASCII-safe XML (values escaped), wrapped in the ``<?xpacket?>`` markers JPEG and WebP readers expect.
    """
    model_line = f"   <Iptc4xmpExt:AISystemUsed>{escape(model)}</Iptc4xmpExt:AISystemUsed>\n" if model else ""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">\n'
        f"   <Iptc4xmpExt:DigitalSourceType>{DIGITAL_SOURCE_TYPE}</Iptc4xmpExt:DigitalSourceType>\n"
        f"   <xmp:CreatorTool>{escape(creator_tool)}</xmp:CreatorTool>\n"
        f"{model_line}"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
