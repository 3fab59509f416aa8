#!/usr/bin/env python3
"""Writes a C file that holds the dashboard's files, for ward-server to serve.

    embed-assets.py OUT.c FILE...

Each file becomes one entry of ward_ui_assets[] (server/ui-assets.h): its
base name, its media type (by extension), its bytes, and a weak ETag made
from its SHA-256 (the server gzips or not, as the client asks), so browsers
revalidate cheaply.
"""
import hashlib
import os
import sys

TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    names = [os.path.basename(f) for f in files]
    if len(set(names)) != len(names):
        sys.exit("embed-assets: two files have the same base name")
    lines = ['#include "server/ui-assets.h"', ""]
    entries = []
    for i, (path, name) in enumerate(zip(files, names)):
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"embed-assets: no media type known for {name}")
        data = open(path, "rb").read()
        # Weak: the server may send the file gzipped or not, under one tag.
        etag = 'W/"' + hashlib.sha256(data).hexdigest()[:20] + '"'
        body = ",".join(str(b) for b in data)
        lines.append(f"static const unsigned char asset{i}[] = {{{body}}};")
        entries.append(
            f'    {{"{name}", "{TYPES[ext]}", asset{i}, {len(data)}, "{etag.replace(chr(34), chr(92) + chr(34))}"}},'
        )
    lines.append("")
    lines.append("const struct ward_ui_asset ward_ui_assets[] = {")
    lines.extend(entries)
    lines.append("};")
    lines.append(f"const size_t ward_ui_n_assets = {len(entries)};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
