#!/usr/bin/env python3
"""test-icons.py APP_ICON SYMBOLIC_ICON: the application icons are what the
hicolor theme and GNOME expect: well-formed SVG; the full-colour icon on a
square 128 px canvas, the symbolic one on a 16 px canvas and drawn in a
single colour (the theme recolours it), neither with raster images or
scripts inside."""
import re
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
failures = []


def check(path, size, single_colour):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        failures.append(f"{path}: not well-formed XML: {error}")
        return
    if root.tag != SVG + "svg":
        failures.append(f"{path}: the root is {root.tag}, not an SVG <svg>")
        return
    if root.get("viewBox") != f"0 0 {size} {size}":
        failures.append(f"{path}: viewBox {root.get('viewBox')!r}, expected '0 0 {size} {size}'")
    for attribute in ("width", "height"):
        if root.get(attribute) != str(size):
            failures.append(f"{path}: {attribute} {root.get(attribute)!r}, expected {size}")
    colours = set()
    for element in root.iter():
        tag = element.tag.replace(SVG, "")
        if tag in ("image", "script", "foreignObject"):
            failures.append(f"{path}: has an <{tag}>")
        for attribute in ("fill", "stroke"):
            value = element.get(attribute)
            if value and value != "none":
                colours.add(value.lower())
        for match in re.finditer(r"(fill|stroke)\s*:\s*([^;]+)", element.get("style") or ""):
            if match.group(2).strip() != "none":
                colours.add(match.group(2).strip().lower())
    if not colours:
        failures.append(f"{path}: draws nothing in any colour")
    if single_colour and len(colours) > 1:
        failures.append(f"{path}: a symbolic icon has one colour, this one {sorted(colours)}")
    print(f"{path}: {size} px, colours {sorted(colours)}")


check(sys.argv[1], 128, single_colour=False)
check(sys.argv[2], 16, single_colour=True)
for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
