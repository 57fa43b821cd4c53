import { useCallback, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation, useNavigate } from "react-router";
import { useShortcuts } from "@/lib/shortcuts";
import { ASK_INPUT_ID, ASK_VIEW, SEARCH_VIEW } from "../ids";
import { parseMode } from "../types";
import { SearchBox } from "./SearchBox";

const SEARCH_PATH = `/mail/${SEARCH_VIEW}`;
const ASK_PATH = `/mail/${ASK_VIEW}`;

/**
 * The header's search field: `/` or Ctrl/⌘+K focuses it, Enter opens the results (keeping the
 * mode of the results on screen).
 */
export function HeaderSearch() {
  const navigate = useNavigate();
  const location = useLocation();
  const inputRef = useRef<HTMLInputElement>(null);
  const onResults =
    location.pathname === SEARCH_PATH || location.pathname.startsWith(`${SEARCH_PATH}/`);
  const params = new URLSearchParams(location.search);
  const shownQuery = onResults ? (params.get("q") ?? "") : "";
  const mode = onResults ? parseMode(params.get("mode")) : "hybrid";

  const focus = () => {
    inputRef.current?.focus();
    inputRef.current?.select();
  };
  useShortcuts({ "/": focus, "mod+k": focus });

  return (
    <SearchBox
      query={shownQuery}
      inputRef={inputRef}
      onSearch={(q) =>
        void navigate(`${SEARCH_PATH}?${new URLSearchParams({ q, mode }).toString()}`)
      }
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
