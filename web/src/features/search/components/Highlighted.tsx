import { useMemo } from "react";
import { parseHighlight } from "../highlight";
import "../search.css";

/** A server snippet with its matches in `<mark>`, built as React nodes (never as HTML). */
export function Highlighted({ html, fallback = "" }: { html: string; fallback?: string }) {
  const segments = useMemo(() => parseHighlight(html), [html]);
  if (segments.length === 0) return <>{fallback}</>;
  return (
    <>
      {segments.map((segment, index) =>
        segment.mark ? (
          <mark key={index} className="hit-mark">
            {segment.text}
          </mark>
        ) : (
          <span key={index}>{segment.text}</span>
        ),
      )}
    </>
  );
}
