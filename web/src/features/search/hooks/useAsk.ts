import { useCallback, useEffect, useRef, useState } from "react";
import { askQuestion } from "../api/ask";
import type { AnswerMode, AskFilters, Citation } from "../types";

export type AskStatus = "idle" | "asking" | "done" | "cancelled" | "error";

export interface AskState {
  status: AskStatus;
  question: string;
  /** What the question was limited to, for asking it again. */
  filters: AskFilters;
  answer: string;
  citations: Citation[];
  /** Known once the answer is complete. */
  mode: AnswerMode | null;
  error: unknown;
}

const IDLE: AskState = {
  status: "idle",
  question: "",
  filters: {},
  answer: "",
  citations: [],
  mode: null,
  error: null,
};

/** One question at a time: asking again or cancelling stops the answer in flight. */
export function useAsk() {
  const [state, setState] = useState<AskState>(IDLE);
  const inflight = useRef<AbortController | null>(null);

  const cancel = useCallback(() => {
    inflight.current?.abort();
    inflight.current = null;
  }, []);

  useEffect(() => cancel, [cancel]);

  const ask = useCallback(
    (question: string, filters: AskFilters = {}) => {
      cancel();
      const controller = new AbortController();
      inflight.current = controller;
      const current = () => inflight.current === controller;
      setState({ ...IDLE, status: "asking", question, filters });
      askQuestion({ question, filters }, controller.signal, {
        onDelta: (delta) => {
          if (current()) setState((s) => ({ ...s, answer: s.answer + delta }));
        },
        onCitations: (citations) => {
          if (current()) setState((s) => ({ ...s, citations }));
        },
      }).then(
        (result) => {
          if (!current()) return;
          inflight.current = null;
          setState((s) => ({
            ...s,
            status: "done",
            answer: result.answer,
            citations: result.citations,
            mode: result.mode,
          }));
        },
        (error: unknown) => {
          if (controller.signal.aborted) {
            // Cancelled by the user, not replaced by a new question.
            if (inflight.current === null) {
              setState((s) => (s.status === "asking" ? { ...s, status: "cancelled" } : s));
            }
            return;
          }
          if (!current()) return;
          inflight.current = null;
          setState((s) => ({ ...s, status: "error", error }));
        },
      );
    },
    [cancel],
  );

  return { state, ask, cancel };
}
