import { describe, expect, it } from "vitest";
import { decodeEntities, highlightText, parseHighlight } from "./highlight";

describe("parseHighlight", () => {
  it("splits a snippet into plain and marked text in order", () => {
    expect(parseHighlight("The <mark>invoice</mark> for <mark>March</mark> is attached")).toEqual([
      { text: "The ", mark: false },
      { text: "invoice", mark: true },
      { text: " for ", mark: false },
      { text: "March", mark: true },
      { text: " is attached", mark: false },
    ]);
  });

  it("decodes the escaped text, so markup in mail shows as the characters it is", () => {
    const segments = parseHighlight(
      "&lt;script&gt;alert(1)&lt;/script&gt; Tom &amp; Jerry &quot;<mark>quoted</mark>&quot; it&#x27;s",
    );
    expect(segments).toEqual([
      { text: '<script>alert(1)</script> Tom & Jerry "', mark: false },
      { text: "quoted", mark: true },
      { text: "\" it's", mark: false },
    ]);
  });

  it("does not decode twice: an escaped entity stays literal text", () => {
    expect(highlightText("&amp;lt;b&amp;gt;")).toBe("&lt;b&gt;");
  });

  it("treats any tag other than mark as text", () => {
    expect(parseHighlight("<b>bold</b> <MARK>x</MARK>")).toEqual([
      { text: "<b>bold</b> ", mark: false },
      { text: "x", mark: true },
    ]);
  });

  it("survives unbalanced and nested marks", () => {
    expect(parseHighlight("a</mark>b<mark>c<mark>d</mark>e</mark>f<mark>g")).toEqual([
      { text: "ab", mark: false },
      { text: "cde", mark: true },
      { text: "f", mark: false },
      { text: "g", mark: true },
    ]);
  });

  it("gives nothing for an empty snippet", () => {
    expect(parseHighlight("")).toEqual([]);
  });
});

describe("decodeEntities", () => {
  it("decodes decimal and hexadecimal references and leaves unknown ones", () => {
    expect(decodeEntities("&#8364; &#x1F600; &bogus; &#0; &#xD800;")).toBe(
      "€ 😀 &bogus; &#0; &#xD800;",
    );
  });
});
