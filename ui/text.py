"""User-controlled strings (file names, class labels, notes, model names) shown as plain text.

Streamlit renders markdown in text elements, table cells, captions and expander labels, and GitHub-style
markdown turns bare URLs and e-mail addresses into links even where brackets are escaped. `plain` escapes
every markdown character and breaks those autolinks with an invisible word joiner, so a label such as
`[mdlink](http://example.invalid/phish)` shows as exactly that, and nothing on the page is clickable. `&` is
escaped too: `https&#58;&#47;&#47;…` would otherwise be decoded to a link after the joiners were put in.

An error's sentence names what came from outside (a ZIP member, a label, a file), so pages show it through
`error_text`, never as markdown.
"""

import re

_MARKDOWN = re.compile(r"([\\`*_\[\]|<>~:$&])")  # emphasis, code, links, HTML, tables, directives, maths, entities
_LINE_START = re.compile(r"^(\s*)([-+#>]|\d+\.)")  # a list, heading or quote when it starts a line
_JOINER = "\u2060"


def plain(text) -> str:
    text = str(text)
    for start in ("://", "www.", "@"):
        text = text.replace(start, start[0] + _JOINER + start[1:])
    text = _MARKDOWN.sub(r"\\\1", text)
    marker = lambda m: m.group(1) + (m.group(2)[:-1] + "\\." if m.group(2)[-1] == "." else "\\" + m.group(2))
    return _LINE_START.sub(marker, text)


def error_text(error: BaseException) -> str:
    """An error's sentence as text: the names in it (files, members, labels) come from outside."""
    return plain(str(error))
