/**
 * The document shown in a mail's sandboxed frame. The server already sanitised the HTML; this
 * strips the same dangerous things again (defence in depth), keeps remote images parked in
 * `data-remote-*` until the user asks for them, swaps inline images for data: URLs, and puts a
 * Content-Security-Policy inside that allows no scripts and no network access except, once
 * shown, images.
 */

const DROP = "script, iframe, frame, frameset, object, embed, base, meta, link, form, noscript";
const URL_ATTRS = ["href", "src", "action", "formaction", "xlink:href"];

export interface SrcDocOptions {
  showImages: boolean;
  inlineImages?: ReadonlyMap<string, string>;
}

export function mailCsp(showImages: boolean): string {
  const images = showImages ? "data: https: http:" : "data:";
  return [
    "default-src 'none'",
    `img-src ${images}`,
    "style-src 'unsafe-inline'",
    "font-src data:",
    "form-action 'none'",
    "base-uri 'none'",
  ].join("; ");
}

const BASE_STYLE = `
  html { color-scheme: light; }
  body { margin: 0; padding: 16px; font: 14px/1.5 system-ui, sans-serif; color: #1a1a1a;
         background: #ffffff; overflow-wrap: anywhere; }
  img { max-width: 100%; height: auto; }
  blockquote { margin: 0 0 0 0.5em; padding-left: 0.75em; border-left: 3px solid #c8c8c8; }
  pre { white-space: pre-wrap; }
`;

export function buildSrcDoc(html: string, { showImages, inlineImages }: SrcDocOptions): string {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const node of doc.querySelectorAll(DROP)) node.remove();
  for (const element of doc.querySelectorAll("*")) {
    for (const attr of Array.from(element.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) element.removeAttribute(attr.name);
      else if (URL_ATTRS.includes(name) && /^\s*(javascript|vbscript):/i.test(attr.value)) {
        element.removeAttribute(attr.name);
      }
    }
  }
  for (const img of doc.querySelectorAll("img[src]")) {
    const src = img.getAttribute("src") ?? "";
    const inline = inlineImages?.get(src);
    if (inline) img.setAttribute("src", inline);
    else if (!src.startsWith("data:")) img.removeAttribute("src");
  }
  if (showImages) {
    for (const [from, to] of [
      ["data-remote-src", "src"],
      ["data-remote-srcset", "srcset"],
      ["data-remote-background", "background"],
    ] as const) {
      for (const element of doc.querySelectorAll(`[${from}]`)) {
        element.setAttribute(to, element.getAttribute(from) ?? "");
        element.removeAttribute(from);
      }
    }
  }
  for (const link of doc.querySelectorAll("a[href]")) {
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  }
  const csp = mailCsp(showImages).replace(/"/g, "&quot;");
  return (
    `<!doctype html><html><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="referrer" content="no-referrer">` +
    `<style>${BASE_STYLE}</style></head><body>${doc.body.innerHTML}</body></html>`
  );
}
