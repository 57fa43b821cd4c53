import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, NavLink, useNavigate, useParams, useSearchParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { Composer } from "@/features/compose/components/Composer";
import { useAccounts, useEmailList, useFolders } from "@/features/mailbox/api/queries";
import { BulkBar } from "@/features/mailbox/components/BulkBar";
import { MessageList } from "@/features/mailbox/components/MessageList";
import { Sidebar } from "@/features/mailbox/components/Sidebar";
import { useSelection } from "@/features/mailbox/hooks/useSelection";
import { filtersForView, isSmartView } from "@/features/mailbox/views";
import { prefetchMessage } from "@/features/message/api/queries";
import { ReaderPane } from "@/features/message/components/ReaderPane";
import { useEmailActions, type EmailAction } from "@/features/message/hooks/useEmailActions";
import { patchHits, searchKeys, useSearch } from "@/features/search/api/queries";
import { AskPanel } from "@/features/search/components/AskPanel";
import { RelatedMessages } from "@/features/search/components/RelatedMessages";
import { HitSnippet, HitSubject } from "@/features/search/components/HitParts";
import { MatchBadge } from "@/features/search/components/MatchBadge";
import { RetryNotice } from "@/features/search/components/RetryNotice";
import { SearchToolbar } from "@/features/search/components/SearchToolbar";
import { ASK_VIEW, SEARCH_ROW_HEIGHT, SEARCH_VIEW } from "@/features/search/ids";
import { parseMode, type SearchHit, type SearchMode } from "@/features/search/types";
import { flattenPages } from "@/lib/api/mailCache";
import type { BulkAction, EmailSummary } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { useShortcuts } from "@/lib/shortcuts";
import { useUiStore } from "@/lib/uiStore";

type PaneKind = "list" | "search" | "ask";

const FLAG_PATCHES: Partial<Record<BulkAction, { is_read?: boolean; is_starred?: boolean }>> = {
  mark_read: { is_read: true },
  mark_unread: { is_read: false },
  star: { is_starred: true },
  unstar: { is_starred: false },
};

/** The views a phone reaches from the bar at the bottom; the rest are in the mailboxes. */
const BOTTOM_VIEWS = ["inbox", "priority", "starred"] as const;
/** A row the focus rests on this long (not one j/k passes over) has its message loaded. */
const PREFETCH_DELAY_MS = 150;

/**
 * The three panes: sidebar, the middle pane (a virtualised mail list, search results or Ask
 * your inbox), reader; and the §2.8 keyboard shortcuts.
 */
export default function MailPage() {
  const { t } = useTranslation("mail");
  const { t: ts } = useTranslation("search");
  const navigate = useNavigate();
  const { view = "inbox", threadId = null, emailId = null } = useParams();
  const [params, setParams] = useSearchParams();
  const kind: PaneKind = view === SEARCH_VIEW ? "search" : view === ASK_VIEW ? "ask" : "list";
  const q = kind === "search" ? (params.get("q") ?? "").trim() : "";
  const searchMode = parseMode(params.get("mode"));
  const filters = useMemo(() => filtersForView(view), [view]);
  const accounts = useAccounts();
  const folders = useFolders();
  const list = useEmailList(filters, kind === "list");
  const search = useSearch(q, searchMode, kind === "search");
  // While the next query runs, the hits of the one before stay on screen; not those of a
  // search from before the user left the results, though.
  const [searchShown, setSearchShown] = useState(false);
  if (kind !== "search" && searchShown) setSearchShown(false);
  if (kind === "search" && search.isSuccess && !search.isPlaceholderData && !searchShown) {
    setSearchShown(true);
  }
  const stale = search.isPlaceholderData;
  const searchData = stale && !searchShown ? undefined : search.data;
  const hits = useMemo(() => uniqueHits(searchData?.pages ?? []), [searchData]);
  const hitById = useMemo(() => new Map(hits.map((hit) => [hit.email.id, hit])), [hits]);
  const listItems = useMemo(() => flattenPages(list.data), [list.data]);
  const items = useMemo(
    () => (kind === "search" ? hits.map((hit) => hit.email) : kind === "ask" ? [] : listItems),
    [kind, hits, listItems],
  );
  const ids = useMemo(() => items.map((item) => item.id), [items]);
  const selection = useSelection(ids);
  const actions = useEmailActions();
  const compose = useUiStore((s) => s.compose);
  const openCompose = useUiStore((s) => s.openCompose);
  const setHelpOpen = useUiStore((s) => s.setHelpOpen);
  const [activeIndex, setActiveIndex] = useState(0);
  // Below 1440 px the mailboxes are an overlay, opened from the list's header (§2.8); choosing
  // one closes it.
  const [menu, setMenu] = useState<{ open: boolean; view: string }>({ open: false, view });
  const menuOpen = menu.open && menu.view === view;
  const setMenuOpen = (open: boolean) => setMenu({ open, view });
  // A new view or search starts at its first row.
  const listKey = `${view}\n${q}\n${searchMode}`;
  const [shownKey, setShownKey] = useState(listKey);
  if (shownKey !== listKey) {
    setShownKey(listKey);
    setActiveIndex(0);
  }
  const openId =
    kind === "ask"
      ? emailId
      : (items.find((item) => (threadId ? item.thread_id === threadId : item.id === emailId))?.id ??
        null);
  const current = items[Math.min(activeIndex, items.length - 1)];

  const folderList = folders.data ?? [];
  const viewLabel =
    kind === "search"
      ? ts("resultsTitle")
      : kind === "ask"
        ? ts("ask.title")
        : isSmartView(view)
          ? t(`views.${view}`)
          : (folderList.find((f) => f.id === view)?.name ?? t("views.folder"));
  // Search results keep their query in the address, also while one of them is open.
  const query = kind === "search" ? `?${params.toString()}` : "";
  const base = `/mail/${view}`;

  const open = useCallback(
    (item: EmailSummary | undefined) => {
      if (!item) return;
      void navigate(
        kind !== "search" && item.thread_id
          ? `${base}/${item.thread_id}`
          : `${base}/message/${item.id}${query}`,
      );
    },
    [navigate, kind, base, query],
  );
  const onOpen = useCallback(
    (index: number) => {
      setActiveIndex(index);
      open(items[index]);
    },
    [items, open],
  );
  const closeReader = useCallback(() => void navigate(`${base}${query}`), [navigate, base, query]);
  const relatedFooter = useCallback(
    (latestId: string) => (
      <RelatedMessages
        emailId={latestId}
        hrefFor={(id) => `${base}/message/${id}${query}`}
        onOpen={(id) => void navigate(`${base}/message/${id}${query}`)}
      />
    ),
    [base, query, navigate],
  );
  const queryClient = useQueryClient();
  // Search results follow a flag change in place; after a move they are asked again (the
  // server has dropped its cached results by then).
  const run = useCallback(
    (action: EmailAction) =>
      actions.mutate(action, {
        onSettled: (_data, error) => {
          if (kind !== "search") return;
          const flag = FLAG_PATCHES[action.action];
          if (flag && !error) patchHits(queryClient, action.ids, flag);
          else void queryClient.invalidateQueries({ queryKey: searchKeys.all });
        },
      }),
    [actions, kind, queryClient],
  );
  const citationHref = useCallback((id: string) => `/mail/${ASK_VIEW}/message/${id}`, []);
  const openCitation = useCallback(
    (id: string) => void navigate(`/mail/${ASK_VIEW}/message/${id}`),
    [navigate],
  );
  const setSearchMode = (mode: SearchMode) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        next.set("mode", mode);
        return next;
      },
      { replace: true },
    );
  const decorate = useCallback(
    (email: EmailSummary) => {
      const hit = hitById.get(email.id);
      if (!hit) return undefined;
      return {
        subject: <HitSubject hit={hit} fallback={t("noSubject")} />,
        preview: <HitSnippet hit={hit} />,
        note: <MatchBadge hit={hit} />,
      };
    },
    [hitById, t],
  );

  /** The messages an action applies to: the selection, else the focused row. */
  const targets = (): string[] =>
    selection.selected.size > 0 ? [...selection.selected] : current ? [current.id] : [];
  const act = (action: BulkAction) => {
    const chosen = targets();
    if (chosen.length === 0) return;
    run({ ids: chosen, action });
    if (action === "archive" || action === "delete") {
      selection.clear();
      if (openId && chosen.includes(openId)) closeReader();
    }
  };
  // The focused row's message loads while the user rests on it (j/k), so opening it is instant.
  useEffect(() => {
    if (!current || current.id === openId) return;
    const timer = setTimeout(
      () => prefetchMessage(queryClient, current, kind !== "search"),
      PREFETCH_DELAY_MS,
    );
    return () => clearTimeout(timer);
  }, [current, openId, kind, queryClient]);
  const move = (delta: number) =>
    setActiveIndex((index) => Math.max(0, Math.min(index + delta, items.length - 1)));
  const replyTarget = () => (openId ?? current?.id) || null;

  useShortcuts({
    j: () => move(1),
    k: () => move(-1),
    o: () => onOpen(activeIndex),
    Enter: () => onOpen(activeIndex),
    Escape: () =>
      menuOpen
        ? setMenuOpen(false)
        : selection.selected.size > 0
          ? selection.clear()
          : closeReader(),
    x: () => current && selection.toggle(current.id),
    X: () => current && selection.toggle(current.id, true),
    "mod+shift+a": () => selection.selectAll(),
    e: () => act("archive"),
    "#": () => act("delete"),
    Delete: () => act("delete"),
    s: () => act(current?.is_starred ? "unstar" : "star"),
    u: () => act("mark_unread"),
    I: () => act("mark_read"),
    c: () => openCompose({ kind: "new" }),
    r: () => {
      const id = replyTarget();
      if (id) openCompose({ kind: "reply", emailId: id, all: false });
    },
    a: () => {
      const id = replyTarget();
      if (id) openCompose({ kind: "reply", emailId: id, all: true });
    },
    f: () => {
      const id = replyTarget();
      if (id) openCompose({ kind: "forward", emailId: id });
    },
    "?": () => setHelpOpen(true),
    "g i": () => void navigate("/mail/inbox"),
    "g s": () => void navigate("/mail/sent"),
    "g d": () => void navigate("/mail/drafts"),
  });

  const noAccounts = accounts.isSuccess && accounts.data.length === 0;
  const messageList = (
    <MessageList
      label={viewLabel}
      items={items}
      hasNextPage={
        kind === "search" ? search.hasNextPage && !search.isFetchNextPageError : list.hasNextPage
      }
      isFetchingNextPage={kind === "search" ? search.isFetchingNextPage : list.isFetchingNextPage}
      fetchNextPage={() => void (kind === "search" ? search.fetchNextPage() : list.fetchNextPage())}
      activeIndex={activeIndex}
      openId={openId}
      selected={selection.selected}
      onOpen={onOpen}
      onToggle={selection.toggle}
      onActiveChange={setActiveIndex}
      rowHeight={kind === "search" ? SEARCH_ROW_HEIGHT : undefined}
      decorate={kind === "search" ? decorate : undefined}
    />
  );

  let pane: React.ReactNode;
  if (kind === "ask") {
    pane = <AskPanel openId={emailId} hrefFor={citationHref} onOpen={openCitation} />;
  } else if (kind === "search") {
    pane = (
      <>
        <SearchToolbar
          mode={searchMode}
          onModeChange={setSearchMode}
          modeUsed={searchData?.pages[0]?.mode_used ?? null}
          count={q && search.isSuccess && !stale ? hits.length : null}
          more={search.hasNextPage}
          busy={stale && items.length > 0}
        />
        {!q ? (
          <p className="search-start muted">{ts("start")}</p>
        ) : search.isPending || (stale && items.length === 0) ? (
          <Spinner label={ts("searching")} />
        ) : search.isError && !search.isFetchNextPageError ? (
          <RetryNotice
            key={search.errorUpdatedAt}
            error={search.error}
            onRetry={() => void search.refetch()}
          />
        ) : items.length === 0 ? (
          <div className="empty">
            <p>{ts("empty", { q })}</p>
            <p className="muted">{ts("emptyHint")}</p>
          </div>
        ) : (
          <>
            {search.isFetchNextPageError ? (
              <RetryNotice
                key={search.errorUpdatedAt}
                error={search.error}
                onRetry={() => void search.fetchNextPage()}
              />
            ) : null}
            <BulkBar
              count={selection.selected.size}
              onAction={(action) => act(action)}
              onClear={selection.clear}
            />
            {messageList}
          </>
        )}
      </>
    );
  } else {
    pane = (
      <>
        <BulkBar
          count={selection.selected.size}
          onAction={(action) => act(action)}
          onClear={selection.clear}
        />
        {noAccounts ? (
          <div className="empty">
            <p>{t("onboarding.noAccounts")}</p>
            <Link className="btn btn-primary" to="/settings/accounts/new">
              {t("onboarding.addAccount")}
            </Link>
          </div>
        ) : list.isPending ? (
          <Spinner label={t("loading")} />
        ) : list.isError ? (
          <Alert>{errorMessage(t, list.error)}</Alert>
        ) : items.length === 0 ? (
          <p className="empty muted">{t("emptyView")}</p>
        ) : (
          messageList
        )}
      </>
    );
  }

  return (
    <div className={`mail${threadId || emailId ? " reading" : ""}${menuOpen ? " menu-open" : ""}`}>
      <Sidebar accounts={accounts.data ?? []} folders={folderList} />
      {menuOpen ? (
        <button
          type="button"
          className="sidebar-backdrop"
          aria-label={t("sidebar.close")}
          onClick={() => setMenuOpen(false)}
        />
      ) : null}
      <section className="list-pane" aria-label={viewLabel}>
        <div className="list-head">
          <button
            type="button"
            className="btn btn-ghost menu-toggle"
            aria-expanded={menuOpen}
            onClick={() => setMenuOpen(!menuOpen)}
          >
            {t("sidebar.open")}
          </button>
          <h1 className="list-title">{viewLabel}</h1>
        </div>
        {pane}
      </section>
      <ReaderPane
        key={threadId ?? emailId ?? "none"}
        threadId={threadId}
        emailId={emailId}
        folders={folderList}
        onAction={run}
        onClose={closeReader}
        footer={relatedFooter}
      />
      {compose ? (
        <Composer key={JSON.stringify(compose)} mode={compose} accounts={accounts.data ?? []} />
      ) : null}
      <nav className="bottom-bar" aria-label={t("bottomBar.label")}>
        <button type="button" className="btn btn-ghost" onClick={() => setMenuOpen(true)}>
          {t("sidebar.open")}
        </button>
        {BOTTOM_VIEWS.map((name) => (
          <NavLink key={name} to={`/mail/${name}`} className="btn btn-ghost">
            {t(`views.${name}`)}
          </NavLink>
        ))}
      </nav>
    </div>
  );
}

/** The hits of all loaded pages, each message once (a page may repeat one the mail changed). */
function uniqueHits(pages: readonly { items: SearchHit[] }[]): SearchHit[] {
  const seen = new Set<string>();
  const hits: SearchHit[] = [];
  for (const page of pages) {
    for (const hit of page.items) {
      if (seen.has(hit.email.id)) continue;
      seen.add(hit.email.id);
      hits.push(hit);
    }
  }
  return hits;
}
