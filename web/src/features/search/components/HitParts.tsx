import type { SearchHit } from "../types";
import { Highlighted } from "./Highlighted";
import "../search.css";

/** A hit's subject with the matched words marked. */
export function HitSubject({ hit, fallback }: { hit: SearchHit; fallback: string }) {
  return <Highlighted html={hit.highlights.subject} fallback={hit.email.subject || fallback} />;
}

/** A hit's snippet (up to 200 characters) with the matched words marked. */
export function HitSnippet({ hit }: { hit: SearchHit }) {
  return (
    <span className="hit-snippet">
      <Highlighted html={hit.highlights.body} fallback={hit.email.preview} />
    </span>
  );
}
