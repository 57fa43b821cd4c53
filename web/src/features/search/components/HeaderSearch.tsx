import { useCallback, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate } from "react-router";
import { useShortcuts } from "@/lib/shortcuts";
import { useSearchPaused } from "../hooks/useSearchPaused";
import { ASK_INPUT_ID, ASK_VIEW, SEARCH_VIEW } from "../ids";
import { parseMode } from "../types";
import { SearchBox } from "./SearchBox";

const SEARCH_PATH = `/mail/${SEARCH_VIEW}`;
const ASK_PATH = `/mail/${ASK_VIEW}`;

/**
 * The header's search field: `/` or Ctrl/⌘+K focuses it; the results follow what is typed
 * (keeping the mode of the results on screen). Typing replaces the results' history entry, so
 * Back does not step through every prefix; it adds one only when it opens the results from
 * elsewhere (a mailbox, a message). Enter adds one too, unless the results show that query
 * already.
 */
export function HeaderSearch() {
  const navigate = useNavigate();
  const location = useLocation();
  const inputRef = useRef<HTMLInputElement>(null);
  const paused = useSearchPaused();
  const onList = location.pathname === SEARCH_PATH;
  const onResults = onList || location.pathname.startsWith(`${SEARCH_PATH}/`);
  const params = new URLSearchParams(location.search);
  const shownQuery = onResults ? (params.get("q") ?? "") : "";
  const mode = onResults ? parseMode(params.get("mode")) : "hybrid";
  const resultsOf = (q: string) => `${SEARCH_PATH}?${new URLSearchParams({ q, mode }).toString()}`;

  const focus = () => {
    inputRef.current?.focus();
    inputRef.current?.select();
  };
  useShortcuts({ "/": focus, "mod+k": focus });

  return (
    <SearchBox
      query={shownQuery}
      inputRef={inputRef}
      paused={paused}
      onSearch={(q) => {
        if (!onList || q !== shownQuery.trim()) void navigate(resultsOf(q));
      }}
      onType={(q) => void navigate(resultsOf(q), { replace: onList })}
    />
  );
}

/** The header's way to Ask your inbox, also on the `q` key. */
export function AskLink() {
  const { t } = useTranslation("search");
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const here = pathname === ASK_PATH;
  const open = useCallback(() => {
    if (!here) void navigate(ASK_PATH);
    // The panel focuses its field when it first shows; when it is already there, do it here.
    requestAnimationFrame(() => document.getElementById(ASK_INPUT_ID)?.focus());
  }, [here, navigate]);
  useShortcuts({ q: open });
  return (
    <Link
      to={ASK_PATH}
      className="btn btn-ghost"
      aria-current={here ? "page" : undefined}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        open();
      }}
    >
      {t("ask.open")}
    </Link>
  );
}
