"""Allow-list HTML sanitising for mail bodies, and plain text derived from HTML.

The reader shows sanitised HTML inside a sandboxed iframe (spec §2.4 "Remote content"). Sanitising
is done by nh3 (ammonia, an html5ever-based allow-list sanitiser) in two passes around a small
rewrite step that needs attribute *renames* nh3 cannot do:

1. nh3 with an attribute filter drops everything not allowed and normalises the markup;
2. a rewrite over nh3's canonical output moves remote image URLs to ``data-remote-*`` attributes
   and resolves ``cid:`` images through the caller's map;
3. nh3 again, stricter: any remote URL that reached it is dropped, so a mistake in step 2 cannot
   load a remote image.

``<style>`` blocks are kept only when they contain no external reference (and nothing that could
end the block); they are re-emitted in front of the body. The result is idempotent:
``sanitize_html(sanitize_html(x).html, cid_map=m)`` resolves ``data-cid`` images later, once the
caller knows its attachment ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

__all__ = ["SanitizedHtml", "html_to_text", "sanitize_html"]


@dataclass(frozen=True, slots=True)
class SanitizedHtml:
    """Sanitised HTML and whether the original referenced remote images (now neutralised)."""

    html: str
    has_remote_images: bool


_TAGS = frozenset(
    {
        *("a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big"),
        *("blockquote", "br", "caption", "center", "cite", "code", "col", "colgroup", "dd"),
        *("del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font"),
        *("footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "i", "img", "ins"),
        *("kbd", "li", "main", "mark", "nav", "ol", "p", "pre", "q", "rp", "rt", "rtc", "ruby"),
        *("s", "samp", "section", "small", "span", "strike", "strong", "sub", "summary", "sup"),
        *("table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var"),
        "wbr",
    }
)

# Removed together with their content: executable, embedding, form-field or metadata elements
# whose text is never part of what the sender meant the reader to see.
_DROP_WITH_CONTENT = frozenset(
    {
        *("script", "style", "iframe", "frame", "frameset", "noframes", "object", "embed"),
        *("applet", "noscript", "noembed", "template", "title", "svg", "math", "textarea"),
        *("select", "xmp", "plaintext", "audio", "video"),
    }
)

_GENERIC_ATTRS = frozenset(
    {"align", "valign", "bgcolor", "class", "dir", "lang", "title", "style", "width", "height"}
)
_REMOTE_BG = {"background", "data-remote-background"}
_CELL_ATTRS = {"colspan", "rowspan", "nowrap", "headers", "scope", "abbr", *_REMOTE_BG}
_ATTRS: dict[str, set[str]] = {
    "*": set(_GENERIC_ATTRS),
    "a": {"href"},
    "img": {
        *("src", "alt", "border", "hspace", "vspace", "srcset"),
        *("data-remote-src", "data-remote-srcset", "data-cid"),
    },
    "table": {"border", "cellpadding", "cellspacing", "summary", "frame", "rules", *_REMOTE_BG},
    "td": set(_CELL_ATTRS),
    "th": set(_CELL_ATTRS),
    "tr": set(_REMOTE_BG),
    "col": {"span"},
    "colgroup": {"span"},
    "font": {"face", "size", "color"},
    "ol": {"start", "type", "reversed"},
    "ul": {"type"},
    "li": {"value", "type"},
    "blockquote": {"cite", "type"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "bdo": {"dir"},
    "hr": {"size", "noshade", "color"},
    "details": {"open"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
_LINK_SCHEMES = {"http", "https", "mailto", "tel"}

_CONTROL_AND_SPACE = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpe?g|gif|webp)[;,]", re.IGNORECASE)
_CID_VALUE = re.compile(r"[^\s<>\"'`]{1,512}")

_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.DOTALL)
_CSS_FUNCTION = re.compile(r"([a-z0-9_-]*)\(")
_CSS_EXTERNAL = re.compile(r"url\(|@import|image-set\(")
_CSS_FORBIDDEN = (
    *("<", "\\", "url(", "@import", "expression", "javascript", "vbscript"),
    *("behavior", "-moz-binding", "&#"),
)
# Functions that cannot fetch anything or run code; anything else drops the whole declaration
# list or block (image-set(), src(), attr(), element() and whatever browsers add next).
_CSS_FUNCTIONS = frozenset(
    {
        *("", "rgb", "rgba", "hsl", "hsla", "hwb", "lab", "lch", "oklab", "oklch", "color-mix"),
        *("calc", "var", "min", "max", "clamp", "not", "is", "where", "has", "lang", "dir"),
        *("nth-child", "nth-last-child", "nth-of-type", "nth-last-of-type", "translate"),
        *("translatex", "translatey", "rotate", "scale", "scalex", "scaley", "skew", "skewx"),
        *("skewy", "matrix", "cubic-bezier", "steps", "linear-gradient", "radial-gradient"),
        *("repeating-linear-gradient", "repeating-radial-gradient", "conic-gradient"),
    }
)
_MAX_STYLE_CHARS = 256_000


def _scheme(value: str) -> tuple[str, str | None]:
    """The URL with the characters browsers ignore removed, and its lowercased scheme."""
    compact = _CONTROL_AND_SPACE.sub("", value)
    match = _SCHEME.match(compact)
    return compact, (match.group(1).lower() if match else None)


def _remote_url(value: str) -> str | None:
    """``value`` as an absolute http(s) URL when it points at the network, else None."""
    compact, scheme = _scheme(value)
    if scheme in ("http", "https"):
        return compact
    if scheme is None and compact.startswith("//"):
        return "https:" + compact
    return None


def _srcset_remote(value: str) -> bool:
    candidates = [c.split()[0] for c in value.split(",") if c.strip()]
    return bool(candidates) and all(_remote_url(c) for c in candidates)


def _clean_css(css: str) -> tuple[str | None, bool]:
    """Safe CSS (comments removed) or None, and whether it referenced a remote resource."""
    text = _CSS_COMMENT.sub("", css)
    low = text.lower()
    remote = bool(_CSS_EXTERNAL.search(low)) and ("http" in low or "//" in low)
    if any(bad in low for bad in _CSS_FORBIDDEN):
        return None, remote
    if any(m.group(1) not in _CSS_FUNCTIONS for m in _CSS_FUNCTION.finditer(low)):
        return None, remote
    return text.strip() or None, remote


def _norm_cid(value: str) -> str:
    return unquote(value).strip().strip("<>").strip()


@dataclass
class _State:
    cid_map: dict[str, str] = field(default_factory=dict)
    remote: bool = False
    local_urls: set[str] = field(default_factory=set)


def _attribute_filter(state: _State, *, final: bool) -> Callable[[str, str, str], str | None]:
    def check(tag: str, attr: str, value: str) -> str | None:
        if attr == "style":
            css, remote = _clean_css(value)
            state.remote |= remote
            return css
        if attr == "href":
            compact, scheme = _scheme(value)
            if scheme in _LINK_SCHEMES:
                return compact
            return _remote_url(value)
        if attr == "cite":
            return _remote_url(value)
        if attr == "src":
            return _check_src(value)
        if attr in ("srcset", "data-remote-srcset"):
            remote = _srcset_remote(value)
            state.remote |= remote
            return value if remote and not (final and attr == "srcset") else None
        if attr in ("background", "data-remote-background", "data-remote-src"):
            url = _remote_url(value)
            state.remote |= url is not None
            return None if final and attr == "background" else url
        if attr == "data-cid":
            return value if _CID_VALUE.fullmatch(value) else None
        return value

    def _check_src(value: str) -> str | None:
        if final and value in state.local_urls:
            return value
        compact, scheme = _scheme(value)
        if scheme == "data":
            return compact if _DATA_IMAGE.match(compact) else None
        if final:
            # Anything still here should have been rewritten: never let it load.
            state.remote |= _remote_url(value) is not None
            return None
        if scheme == "cid":
            return compact
        return _remote_url(value)

    def safe(tag: str, attr: str, value: str) -> str | None:
        # nh3 only prints exceptions raised here, so a bug must not turn into "keep the value".
        try:
            return check(tag, attr, value)
        except Exception:
            return None

    return safe


def _clean(html: str, state: _State, *, final: bool) -> str:
    return nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _ATTRS.items()},
        attribute_filter=_attribute_filter(state, final=final),
        strip_comments=True,
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        url_schemes=set(_URL_SCHEMES),
        url_relative=lambda url: url if final and url in state.local_urls else None,
    )


# nh3 serialises canonically: every "<" in its output opens a real tag (text has "&lt;") and
# every attribute value is double-quoted with '"' escaped, so these patterns are exact on it.
_CANONICAL_TAG = re.compile(r'<(img|table|td|th|tr)((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*(/?)>')
_CANONICAL_ATTR = re.compile(r'([^\s"\'>/=]+)(?:="([^"]*)")?')
# Conservative: any of these anywhere (even in text) sends the output through the rewrite.
_NEEDS_REWRITE = re.compile(r"(?:src|srcset|background|data-cid)=")


def _rewrite(html: str, state: _State) -> str:
    """Move remote image URLs to data-remote-* attributes and resolve cid: images."""

    def tag(match: re.Match[str]) -> str:
        name = match.group(1)
        values = {
            attr.group(1): unescape(attr.group(2) or "")
            for attr in _CANONICAL_ATTR.finditer(match.group(2))
        }
        if name == "img":
            _rewrite_image(values, state)
        if "background" in values:
            values["data-remote-background"] = values.pop("background")
        if any(key.startswith("data-remote-") for key in values):
            state.remote = True
        rendered = "".join(f' {key}="{escape(value)}"' for key, value in values.items())
        return f"<{name}{rendered}>"

    return _CANONICAL_TAG.sub(tag, html)


def _rewrite_image(values: dict[str, str], state: _State) -> None:
    src = values.pop("src", None)
    if src is not None:
        compact, scheme = _scheme(src)
        if scheme == "cid":
            values["data-cid"] = _norm_cid(compact[4:])
        elif (remote := _remote_url(src)) is not None:
            values["data-remote-src"] = remote
        else:
            values["src"] = src
    if "srcset" in values:
        values["data-remote-srcset"] = values.pop("srcset")
    cid = values.get("data-cid")
    if cid and "src" not in values:
        url = state.cid_map.get(_norm_cid(cid).lower())
        if url is not None:
            values["src"] = url
            state.local_urls.add(url)


class _StyleBlocks(HTMLParser):
    """Collects the text of ``<style>`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.blocks: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "style":
            self._inside = True
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside and self.blocks:
            self.blocks[-1] += data


def _style_blocks(html: str, state: _State) -> str:
    if "<style" not in html.lower():
        return ""
    collector = _StyleBlocks()
    try:
        collector.feed(html)
        collector.close()
    except Exception:
        return ""
    kept: list[str] = []
    size = 0
    for block in collector.blocks:
        css, remote = _clean_css(block)
        state.remote |= remote
        if css is not None and size + len(css) <= _MAX_STYLE_CHARS:
            kept.append(f"<style>{css}</style>")
            size += len(css)
    return "".join(kept)


_VOID = frozenset(
    {
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta"),
        *("param", "source", "track", "wbr", "image", "isindex", "basefont", "bgsound", "frame"),
    }
)
_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9:_.-]*")
_MAX_NESTING = 256
# Below this many "<" the nesting cannot be deep enough to matter (see _DepthLimiter).
_NESTING_CHECK_FROM = 3000


class _DepthLimiter(HTMLParser):
    """Re-serialises HTML balanced and at most ``_MAX_NESTING`` elements deep.

    html5ever's tree builder scans the stack of open elements for every token, so 50,000 nested
    ``<div>`` take it 15 s and 200,000 minutes. Deeper elements lose their tags, not their text.
    The output only feeds nh3, which still decides what is safe.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.raw_text: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.raw_text = tag
            return
        if not _NAME.fullmatch(tag) or (tag not in _VOID and len(self.stack) >= _MAX_NESTING):
            return
        rendered = "".join(
            f' {name}="{escape(value or "")}"' for name, value in attrs if _NAME.fullmatch(name)
        )
        self.out.append(f"<{tag}{rendered}>")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and self.stack and self.stack[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.raw_text is not None:
            if tag == self.raw_text:
                self.raw_text = None
            return
        if tag in self.stack:
            while self.stack:
                name = self.stack.pop()
                self.out.append(f"</{name}>")
                if name == tag:
                    break

    def handle_data(self, data: str) -> None:
        if self.raw_text is None:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{name}>" for name in reversed(self.stack))


def _limit_depth(html: str) -> str:
    if html.count("<") < _NESTING_CHECK_FROM:
        return html
    limiter = _DepthLimiter()
    limiter.feed(html)
    return limiter.result()


def sanitize_html(html: str, *, cid_map: Mapping[str, str] | None = None) -> SanitizedHtml:
    """Allow-list sanitise a mail body for display.

    Scripts, frames, objects, forms, ``<base>``, ``<link>``, ``<meta>``, event handlers and
    ``javascript:``/``vbscript:``/``data:`` URLs (other than ``data:image/png|jpeg|gif|webp`` in
    ``img``) are removed; formatting, tables, images and links stay. Links get
    ``target="_blank" rel="noopener noreferrer"``. Remote images are neutralised: ``img src`` and
    ``srcset`` move to ``data-remote-src``/``data-remote-srcset``, ``background`` attributes to
    ``data-remote-background``, and ``style`` attributes with ``url(`` are dropped;
    ``has_remote_images`` says whether any were found. ``cid:`` images are resolved through
    ``cid_map`` (Content-ID without brackets → URL, matched case-insensitively) and otherwise
    kept as ``data-cid`` for a later call. Never raises: if the sanitiser fails, the text is
    returned escaped inside ``<pre>``.
    """
    state = _State(cid_map={_norm_cid(k).lower(): v for k, v in (cid_map or {}).items()})
    try:
        styles = _style_blocks(html, state)
        body = _clean(_limit_depth(html), state, final=False)
        if _NEEDS_REWRITE.search(body):
            body = _clean(_rewrite(body, state), state, final=True)
        return SanitizedHtml(html=styles + body, has_remote_images=state.remote)
    except BaseException as exc:
        # nh3 reports Rust panics as pyo3's PanicException, which derives from BaseException.
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        text = escape(html_to_text(html), quote=False)
        return SanitizedHtml(html=f"<pre>{text}</pre>", has_remote_images=state.remote)


_SKIP_TEXT = frozenset(
    {"script", "style", "head", "title", "template", "noscript", "svg", "math", "xml"}
)
_BLANK_LINE_TAGS = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "dl", "blockquote"),
        *("pre", "hr", "figure", "address", "fieldset", "form"),
    }
)
_LINE_TAGS = frozenset(
    {
        *("div", "br", "li", "tr", "dt", "dd", "section", "article", "header", "footer"),
        *("main", "nav", "aside", "center", "caption", "figcaption", "summary", "details"),
        *("tbody", "thead", "tfoot", "body", "html"),
    }
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u034f\u00ad"))
_WHITESPACE = re.compile(r"\s+")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.breaks = 0
        self.skip: list[str] = []
        self.pre = 0
        self.row_has_cell = False
        self.started = False

    def _break(self, count: int) -> None:
        self.breaks = max(self.breaks, count)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.skip.clear()
        if tag in _SKIP_TEXT:
            self.skip.append(tag)
            return
        if tag in _BLANK_LINE_TAGS:
            self._break(2)
        elif tag in _LINE_TAGS:
            self._break(1)
        if tag == "pre":
            self.pre += 1
        elif tag == "tr":
            self.row_has_cell = False
        elif tag in ("td", "th"):
            if self.row_has_cell:
                self._text(" ")
            self.row_has_cell = True
        elif tag == "li":
            self._text("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr", "wbr", "img"):
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skip:
            while self.skip and self.skip.pop() != tag:
                pass
            return
        if tag in _BLANK_LINE_TAGS:
            self._break(2)
        elif tag in _LINE_TAGS:
            self._break(1)
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = data.translate(_INVISIBLE)
        if not self.pre:
            text = _WHITESPACE.sub(" ", text)
        self._text(text)

    def _text(self, text: str) -> None:
        if not text:
            return
        if self.breaks:
            if self.started:
                self.parts.append("\n" * self.breaks)
            self.breaks = 0
            if not self.pre:
                text = text.lstrip(" ")
        elif not self.pre and text.startswith(" "):
            last = self.parts[-1] if self.parts else "\n"
            if last.endswith((" ", "\n")):
                text = text.lstrip(" ")
        if text:
            self.parts.append(text)
            self.started = True


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: block elements become line breaks, paragraphs blank
    lines, list items ``- ``; scripts, styles and the document head are dropped."""
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: S110 - html.parser gives up on some malformed declarations;
        pass  # what it extracted before that is kept.
    text = "".join(extractor.parts).replace("\xa0", " ")
    text = _TRAILING_SPACE.sub("\n", text)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()
