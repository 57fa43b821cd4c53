/**
 * Search snippets arrive as escaped HTML whose only markup is `<mark>…</mark>` around the
 * matched words. They are turned into text segments here and rendered as React nodes, so no
 * server string ever reaches the DOM as HTML.
 */

export interface Segment {
  text: string;
  mark: boolean;
}

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};

const ENTITY = /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g;
const MARK_TAG = /<(\/?)mark>/gi;

/** Replaces the character references an HTML escaper produces; unknown ones stay as written. */
export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, body: string) => {
    if (body.startsWith("#")) {
      const hex = body[1] === "x" || body[1] === "X";
      const code = Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff) return whole;
      if (code >= 0xd800 && code <= 0xdfff) return whole;
      return String.fromCodePoint(code);
    }
    return NAMED[body.toLowerCase()] ?? whole;
  });
}

/**
 * The segments of a highlighted snippet: marked (matched) and plain text, decoded, in order,
 * adjacent segments of the same kind merged. Unbalanced or nested marks cannot break out:
 * a stray `</mark>` is dropped and an unclosed `<mark>` ends with the snippet.
 */
export function parseHighlight(html: string): Segment[] {
  const segments: Segment[] = [];
  let depth = 0;
  let last = 0;
  const push = (raw: string) => {
    if (!raw) return;
    const text = decodeEntities(raw);
    const mark = depth > 0;
    const previous = segments[segments.length - 1];
    if (previous && previous.mark === mark) previous.text += text;
    else segments.push({ text, mark });
  };
  for (const match of html.matchAll(MARK_TAG)) {
    push(html.slice(last, match.index));
    last = match.index + match[0].length;
    if (match[1]) depth = Math.max(0, depth - 1);
    else depth += 1;
  }
  push(html.slice(last));
  return segments;
}

/** The snippet as plain text (for titles and labels). */
export function highlightText(html: string): string {
  return parseHighlight(html)
    .map((segment) => segment.text)
    .join("");
}
