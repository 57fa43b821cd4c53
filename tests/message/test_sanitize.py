"""sanitize_html: an XSS corpus, remote-content neutralisation, cid images; html_to_text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailmind.message.sanitize import html_to_text, sanitize_html

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=//evil.example/x.js></ScRiPt>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script\x0c>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x OnErRoR=alert(1)>",
    '<img/src="x"/onerror="alert(1)">',
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<img src=`javascript:alert(1)`>",
    '<img src="jav&#x09;ascript:alert(1)">',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="javas&Tab;cript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    "<a href=javascript&#58;alert(1)>x</a>",
    '<a href="  JaVaScRiPt:alert(1)">x</a>',
    '<a href="java\x00script:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="https://ok.example/" onclick="alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="10">x</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">x</math>',
    "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="width: EXPRESSION(alert(1))">x</div>',
    '<div style="x:\\65xpression(alert(1))">x</div>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="background-image: url(&quot;javascript:alert(1)&quot;)">x</div>',
    '<div style="behavior: url(x.htc)">x</div>',
    '<p style="-moz-binding:url(http://evil.example/x.xml#xss)">x</p>',
    '<style>body{background:url("javascript:alert(1)")}</style>',
    "<style>@import 'http://evil.example/x.css';</style>",
    "<style>@import url(javascript:alert(1));</style>",
    "<style>div { width: expression(alert(1)) }</style>",
    "<style>a{}</style><script>alert(1)</script><style>b{}</style>",
    '<base href="javascript:alert(1)//">',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<META HTTP-EQUIV="refresh" CONTENT="0; URL=https://evil.example/">',
    '<link rel="stylesheet" href="http://evil.example/x.css">',
    '<form action="javascript:alert(1)"><input type="submit"></form>',
    '<form action="https://evil.example/"><button formaction="javascript:alert(1)">x</button></form>',
    "<input autofocus onfocus=alert(1)>",
    "<select onfocus=alert(1) autofocus><option>x</option></select>",
    "<keygen autofocus onfocus=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<IFRAME SRCDOC="&lt;img src=x onerror=alert(1)&gt;"></IFRAME>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<body onload=alert(1)>",
    '<div onmouseover="alert(1)">x</div>',
    "<details open ontoggle=alert(1)>",
    '<video><source onerror="alert(1)"></video>',
    "<marquee onstart=alert(1)>x</marquee>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "<!-- --!><script>alert(1)</script> -->",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<xmp><p title="</xmp><img src=x onerror=alert(1)>"></xmp>',
    "<textarea><script>alert(1)</script></textarea>",
    "<title><script>alert(1)</script></title>",
    '<a href="#" onclick="alert(1)" ONMOUSEOVER="alert(2)">x</a>',
]


def _assert_harmless(out: str) -> None:
    low = out.lower()
    assert "<script" not in low
    assert "javascript:" not in low
    assert "vbscript:" not in low
    assert not re.search(r"\son\w+\s*=", low)
    assert "<iframe" not in low
    assert not re.search(r"<svg[^>]*on", low)
    assert "expression(" not in low
    for tag in (
        "<svg",
        "<math",
        "<base",
        "<meta",
        "<link",
        "<form",
        "<input",
        "<button",
        "<object",
    ):
        assert tag not in low
    assert "<embed" not in low
    assert "srcdoc" not in low
    assert "data:text" not in low


def test_xss_corpus_is_large_enough():
    assert len(XSS_PAYLOADS) >= 40


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralised(payload: str):
    out = sanitize_html(f"<p>before</p>{payload}<p>after</p>").html
    _assert_harmless(out)
    assert "<p>before</p>" in out  # the mail around the payload is still shown


class _Shape(HTMLParser):
    """Tokens of an HTML string with attributes sorted, to compare markup up to attribute order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[object] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append((tag, sorted(attrs, key=lambda a: a[0])))

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(f"/{tag}")

    def handle_data(self, data: str) -> None:
        self.tokens.append(data)


def _shape(html: str) -> list[object]:
    parser = _Shape()
    parser.feed(html)
    parser.close()
    return parser.tokens


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_stable_when_sanitised_twice(payload: str):
    once = sanitize_html(payload).html
    twice = sanitize_html(once).html
    _assert_harmless(twice)
    assert _shape(twice) == _shape(once)


def test_basic_formatting_tables_images_and_links_survive():
    html = (
        '<h2>Title</h2><p><b>bold</b> <i>it</i> <u>u</u> <span style="color: red">red</span></p>'
        '<table border="1"><tr><th colspan="2">Head</th></tr><tr><td>a</td><td>b</td></tr></table>'
        '<ul><li>one</li></ul><blockquote>quoted</blockquote><img src="data:image/png;base64,iVBORw0KGgo=" alt="dot">'
        '<a href="https://example.com/x?a=1&amp;b=2">link</a> <a href="mailto:ann@example.org">mail</a>'
    )
    out = sanitize_html(html)
    for kept in (
        "<h2>Title</h2>",
        "<b>bold</b>",
        "<i>it</i>",
        "<u>u</u>",
        'style="color: red"',
        '<th colspan="2">Head</th>',
        "<li>one</li>",
        "<blockquote>quoted</blockquote>",
        'src="data:image/png;base64,iVBORw0KGgo="',
        'href="https://example.com/x?a=1&amp;b=2"',
        'href="mailto:ann@example.org"',
    ):
        assert kept in out.html
    assert out.has_remote_images is False


def test_links_open_in_new_tab_without_referrer():
    out = sanitize_html('<a href="https://example.com/" target="_self" rel="opener">x</a>').html
    assert out == '<a href="https://example.com/" target="_blank" rel="noopener noreferrer">x</a>'


def test_relative_links_and_images_are_dropped():
    out = sanitize_html('<a href="/api/auth/logout">x</a><img src="/api/me">').html
    assert "/api/" not in out


def test_remote_img_src_moves_to_data_remote_src():
    out = sanitize_html('<p>x</p><img src="https://tracker.example/o.gif" width="1">')
    assert out.has_remote_images is True
    assert '<img width="1" data-remote-src="https://tracker.example/o.gif">' in out.html
    assert " src=" not in out.html


def test_protocol_relative_img_counts_as_remote():
    out = sanitize_html('<img src="//tracker.example/o.gif">')
    assert out.has_remote_images is True
    assert 'data-remote-src="https://tracker.example/o.gif"' in out.html


def test_srcset_and_background_attributes_are_neutralised():
    out = sanitize_html(
        '<img srcset="https://a.example/1.png 1x, https://a.example/2.png 2x">'
        '<table background="https://a.example/bg.png"><tr><td background="http://a.example/c.png">x</td></tr></table>'
    )
    assert out.has_remote_images is True
    assert " srcset=" not in out.html and " background=" not in out.html
    assert 'data-remote-srcset="https://a.example/1.png 1x, https://a.example/2.png 2x"' in out.html
    assert 'data-remote-background="https://a.example/bg.png"' in out.html


def test_style_attribute_with_url_is_stripped():
    out = sanitize_html(
        '<div style="background-image: url(https://t.example/p.png); color: red">x</div>'
        '<div style="color: blue">y</div>'
    )
    assert out.has_remote_images is True
    assert "url(" not in out.html
    assert '<div>x</div><div style="color: blue">y</div>' in out.html


def test_style_block_without_external_refs_is_kept_others_dropped():
    out = sanitize_html(
        "<style>p { color: red } @media (max-width: 600px) { .a > b { margin: 0 } }</style>"
        "<style>@import url(https://evil.example/x.css); p { color: blue }</style>"
        "<style>p { background: url(https://t.example/p.png) }</style><p>x</p>"
    )
    assert out.html.startswith("<style>p { color: red } @media (max-width: 600px)")
    assert out.html.count("<style>") == 1
    assert "evil.example" not in out.html and "t.example" not in out.html
    assert out.has_remote_images is True


def test_cid_images_resolve_through_map_case_insensitively():
    out = sanitize_html(
        '<img src="cid:Logo.1@x.example"><img src="cid:unknown@x">',
        cid_map={"<logo.1@X.EXAMPLE>": "/api/attachments/7"},
    )
    assert '<img data-cid="Logo.1@x.example" src="/api/attachments/7">' in out.html
    assert '<img data-cid="unknown@x">' in out.html
    assert out.has_remote_images is False


def test_cid_images_without_map_stay_as_data_cid_and_resolve_later():
    first = sanitize_html('<img src="cid:logo%40x" alt="logo">')
    assert first.html == '<img alt="logo" data-cid="logo@x">'
    later = sanitize_html(first.html, cid_map={"logo@x": "/api/attachments/9"})
    assert later.html == '<img alt="logo" data-cid="logo@x" src="/api/attachments/9">'


def test_data_urls_only_for_raster_images():
    out = sanitize_html(
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<img src="data:text/html,<b>x</b>"><a href="data:image/png;base64,AAAA">x</a>'
    ).html
    assert (
        out
        == '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><img><a target="_blank" rel="noopener noreferrer">x</a>'
    )


def test_spoofed_data_remote_src_with_javascript_is_dropped():
    out = sanitize_html('<img data-remote-src="javascript:alert(1)" data-cid="a b">').html
    assert out == "<img>"


def test_deeply_nested_html_keeps_its_text():
    out = sanitize_html("<div>" * 60_000 + "deep text" + "</div>" * 60_000)
    assert "deep text" in out.html
    assert out.html.count("<div>") <= 256


# --- properties --------------------------------------------------------------------------------

_FRAGMENTS = [
    "<",
    ">",
    "/",
    '"',
    "'",
    "=",
    " ",
    "\t",
    "\n",
    "&#",
    "&#x6a;",
    "&lt;",
    "&quot;",
    "<!--",
    "-->",
    "--!>",
    "<![CDATA[",
    "]]>",
    "<script>",
    "</script>",
    "<scr",
    "ipt>",
    "<img",
    " src=",
    "x",
    " onerror=",
    "alert(1)",
    "javascript:",
    "java&#09;script:",
    "<svg",
    " onload=",
    "<math>",
    "<style>",
    "</style>",
    "expression(",
    "url(",
    "<a",
    " href=",
    "<iframe",
    " srcdoc=",
    "<noscript>",
    "</noscript>",
    "<textarea>",
    "</textarea>",
    "<title>",
    "<xmp>",
    "<table>",
    "<td",
    " background=",
    " style=",
    "http://e.example/i.png",
    "cid:a@b",
    "<base",
    "<meta",
    "<form",
    "<input",
    "<p>",
    "</p>",
    "data:text/html,",
    "data:image/png;base64,AA",
]


class _Audit(HTMLParser):
    """Parses sanitiser output and records anything that could execute or load."""

    FORBIDDEN_TAGS = {
        "script",
        "iframe",
        "frame",
        "object",
        "embed",
        "svg",
        "math",
        "form",
        "input",
        "button",
        "meta",
        "base",
        "link",
        "textarea",
        "select",
        "noscript",
        "xmp",
        "title",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.FORBIDDEN_TAGS:
            self.problems.append(f"tag {tag}")
        for name, value in attrs:
            compact = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on") or name in ("srcdoc", "formaction", "action"):
                self.problems.append(f"attribute {name}")
            if name in ("href", "src") and compact.startswith(("javascript:", "vbscript:")):
                self.problems.append(f"{name}={value}")
            if name == "src" and (compact.startswith("http") or compact.startswith("//")):
                self.problems.append(f"remote src {value}")
            if (
                name == "src"
                and compact.startswith("data:")
                and not compact.startswith("data:image/")
            ):
                self.problems.append(f"src {value}")
            if name == "style" and ("url(" in compact or "expression" in compact):
                self.problems.append(f"style {value}")

    def handle_data(self, data: str) -> None:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=40).map("".join))
def test_fragment_soup_never_yields_active_content(html: str):
    out = sanitize_html(html)
    audit = _Audit()
    audit.feed(out.html)
    audit.close()
    assert audit.problems == [], (html, out.html)
    for block in re.findall(r"<style>(.*?)</style>", out.html, flags=re.S):
        assert "url(" not in block.lower() and "expression" not in block.lower()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str):
    assert isinstance(sanitize_html(text).html, str)
    assert isinstance(html_to_text(text), str)


# --- html_to_text ------------------------------------------------------------------------------


def test_html_to_text_keeps_paragraph_breaks_and_lists():
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body><h1>Hello</h1>"
        "<p>First&nbsp;para\n with   spaces</p><p>Second<br>line</p><ul><li>one</li><li>two</li></ul>"
        "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table><div>end</div>"
        "<script>var x = 1;</script></body></html>"
    )
    assert html_to_text(html) == (
        "Hello\n\nFirst para with spaces\n\nSecond\nline\n\n- one\n- two\n\na b\nc\n\nend"
    )


def test_html_to_text_keeps_preformatted_whitespace():
    assert html_to_text("<p>x</p><pre>a  b\n  c</pre>") == "x\n\na  b\n  c"


def test_html_to_text_drops_invisible_preheader_padding():
    assert html_to_text("<p>Hi\u200c\u200b\u034f there</p>") == "Hi there"
