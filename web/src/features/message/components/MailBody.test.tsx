import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { EmailDetail } from "@/lib/api/types";
import { MailBody } from "./MailBody";
import { MessageView } from "./MessageView";
import { buildSrcDoc } from "./srcdoc";

const HOSTILE = `
  <p onclick="steal()">Hello <b>there</b></p>
  <script>alert(1)</script>
  <img data-remote-src="https://tracker.example/pixel.gif" alt="logo">
  <img src="https://tracker.example/direct.gif" alt="direct">
  <a href="javascript:alert(1)">bad link</a>
  <a href="https://example.org/">good link</a>
  <iframe src="https://evil.example/"></iframe>
`;

function frameDocument(): Document {
  const frame = screen.getByTitle(/Message body/);
  return new DOMParser().parseFromString(frame.getAttribute("srcdoc") ?? "", "text/html");
}

describe("mail body frame", () => {
  it("is sandboxed with allow-popups only and carries no script", () => {
    render(<MailBody html={HOSTILE} title="Hi" showImages={false} />);
    const frame = screen.getByTitle(/Message body/);
    expect(frame.tagName).toBe("IFRAME");
    expect(frame.getAttribute("sandbox")).toBe("allow-popups");
    const doc = frameDocument();
    expect(doc.querySelector("script")).toBeNull();
    expect(doc.querySelector("iframe")).toBeNull();
    expect(doc.querySelector("[onclick]")).toBeNull();
    expect(doc.querySelector('a[href^="javascript"]')).toBeNull();
    expect(doc.querySelector('a[href="https://example.org/"]')?.getAttribute("rel")).toBe(
      "noopener noreferrer",
    );
    expect(doc.body.textContent).toContain("Hello there");
  });

  it("blocks remote images and allows only data: images in its CSP", () => {
    render(<MailBody html={HOSTILE} title="Hi" showImages={false} />);
    const doc = frameDocument();
    for (const img of doc.querySelectorAll("img")) expect(img.hasAttribute("src")).toBe(false);
    const csp = doc
      .querySelector('meta[http-equiv="Content-Security-Policy"]')
      ?.getAttribute("content");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("img-src data:;");
    expect(csp).not.toContain("script-src");
  });

  it("shows remote images after 'Show images'", () => {
    const email = {
      id: "e1",
      subject: "Newsletter",
      sender: { name: "News", address: "news@example.com" },
      to: [],
      cc: [],
      date: null,
      body_html: HOSTILE,
      body_text: "",
      has_remote_images: true,
      attachments: [],
    } as unknown as EmailDetail;
    render(
      <QueryClientProvider client={new QueryClient()}>
        <MessageView email={email} expanded onExpand={() => undefined} />
      </QueryClientProvider>,
    );
    expect(frameDocument().querySelector('img[alt="logo"]')?.getAttribute("src")).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Show images" }));

    const doc = frameDocument();
    expect(doc.querySelector('img[alt="logo"]')?.getAttribute("src")).toBe(
      "https://tracker.example/pixel.gif",
    );
    expect(
      doc.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute("content"),
    ).toContain("img-src data: https:");
    expect(screen.queryByRole("button", { name: "Show images" })).not.toBeInTheDocument();
  });

  it("puts inline images in as data: URLs", () => {
    const html = '<img src="/api/emails/e1/attachments/a1" alt="inline">';
    const doc = new DOMParser().parseFromString(
      buildSrcDoc(html, {
        showImages: false,
        inlineImages: new Map([["/api/emails/e1/attachments/a1", "data:image/png;base64,AAAA"]]),
      }),
      "text/html",
    );
    expect(doc.querySelector("img")?.getAttribute("src")).toBe("data:image/png;base64,AAAA");
  });
});
