"""What every HTML page promoter writes shares: one self-contained file (inline CSS, inline SVG,
at most a few lines of inline script), under a Content-Security-Policy that lets it load nothing
whatever a text in it says; every text from outside escaped by the page that shows it."""

from __future__ import annotations

from html import escape

from promoter.text import printable

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)

PAGE_CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 20px auto; max-width: 1010px;
  padding: 0 14px; color: #1d2330; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #e1e6ee;
  padding-bottom: 3px; } h3 { font-size: 14px; margin: 14px 0 2px; } h3 small, h2 small { color: #5a6270;
  font-weight: normal; }
.meta, .explain { color: #5a6270; margin: 0 0 10px; } .explain { font-size: 13px; max-width: 900px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
a { color: #2456b8; }
.tag { font-size: 11px; padding: 0 4px; border-radius: 3px; background: #d62728; color: #fff; white-space: nowrap; }
input[type=search] { font: inherit; padding: 4px 8px; border: 1px solid #b7bfcc; border-radius: 4px; width: 22em;
  max-width: 100%; }
.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 6px 0; font-size: 13px; }
details.definitions { font-size: 13px; color: #5a6270; margin: 6px 0; } details.definitions ul { margin: 4px 0; }
table.dora { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
table.dora th, table.dora td { border-bottom: 1px solid #e1e6ee; padding: 4px 10px; text-align: left;
  white-space: nowrap; }
table.dora thead th { background: #eef2f8; white-space: nowrap; } table.dora td.none { color: #8a93a3;
  font-size: 12px; }
table.dora .sub { color: #5a6270; font-size: 12px; }
@media (max-width: 640px) { body { margin: 12px auto; padding: 0 10px; } }
"""


def page(title: str, css: str, body: str, script: str = "") -> str:
    """A self-contained page: `css` (and `script`) inline, a CSP that lets it load nothing; `body`
    is HTML whose texts the caller escaped (made printable here, as every output is)."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{css}</style></head>\n"
        "<body>\n" + printable(body) + "\n" + (f"<script>{script}</script>\n" if script else "") + "</body></html>\n"
    )


def row_filter(box: str, rows: str, shown: str, attribute: str) -> str:
    """A script that shows only the rows (`rows`, a CSS selector) whose text, or whose `attribute`,
    holds what is typed in the search box `box` (an id); `#q=TEXT` in the URL fills the box; the
    element `shown` (an id) says how many rows are shown."""
    return (
        "(function () {\n"
        f"  var box = document.getElementById('{box}'), rows = document.querySelectorAll('{rows}');\n"
        f"  var shown = document.getElementById('{shown}'), only = document.getElementById('{box}-only');\n"
        "  function apply() {\n"
        "    var q = box.value.toLowerCase().trim(), n = 0;\n"
        "    for (var i = 0; i < rows.length; i++) {\n"
        "      var r = rows[i];\n"
        f"      var key = (r.getAttribute('{attribute}') || '').toLowerCase();\n"
        "      var hit = (!q || key.indexOf(q) === 0 || r.textContent.toLowerCase().indexOf(q) >= 0)\n"
        "        && (!only || !only.checked || r.classList.contains(only.value));\n"
        "      r.hidden = !hit;\n"
        "      if (hit) n++;\n"
        "    }\n"
        "    if (shown) shown.textContent = n;\n"
        "  }\n"
        "  var m = /^#q=(.*)$/.exec(location.hash);\n"
        "  if (m) box.value = decodeURIComponent(m[1]);\n"
        "  box.addEventListener('input', apply);\n"
        "  if (only) only.addEventListener('change', apply);\n"
        "  apply();\n"
        "})();\n"
    )
