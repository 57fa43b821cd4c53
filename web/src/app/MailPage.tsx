import { useCallback, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { Composer } from "@/features/compose/components/Composer";
import { useAccounts, useEmailList, useFolders } from "@/features/mailbox/api/queries";
import { BulkBar } from "@/features/mailbox/components/BulkBar";
import { MessageList } from "@/features/mailbox/components/MessageList";
import { Sidebar } from "@/features/mailbox/components/Sidebar";
import { useSelection } from "@/features/mailbox/hooks/useSelection";
import { filtersForView, isSmartView } from "@/features/mailbox/views";
import { ReaderPane } from "@/features/message/components/ReaderPane";
import { useEmailActions, type EmailAction } from "@/features/message/hooks/useEmailActions";
import { flattenPages } from "@/lib/api/mailCache";
import type { BulkAction, EmailSummary } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { useShortcuts } from "@/lib/shortcuts";
import { useUiStore } from "@/lib/uiStore";

/** The three panes: sidebar, virtualised list, reader; and the §2.8 keyboard shortcuts. */
export default function MailPage() {
  const { t } = useTranslation("mail");
  const navigate = useNavigate();
  const { view = "inbox", threadId = null, emailId = null } = useParams();
  const filters = useMemo(() => filtersForView(view), [view]);
  const accounts = useAccounts();
  const folders = useFolders();
  const list = useEmailList(filters);
  const items = useMemo(() => flattenPages(list.data), [list.data]);
  const ids = useMemo(() => items.map((item) => item.id), [items]);
  const selection = useSelection(ids);
  const actions = useEmailActions();
  const compose = useUiStore((s) => s.compose);
  const openCompose = useUiStore((s) => s.openCompose);
  const setHelpOpen = useUiStore((s) => s.setHelpOpen);
  const [activeIndex, setActiveIndex] = useState(0);
  const openId =
    items.find((item) => (threadId ? item.thread_id === threadId : item.id === emailId))?.id ??
    null;
  const current = items[Math.min(activeIndex, items.length - 1)];

  const folderList = folders.data ?? [];
  const viewLabel = isSmartView(view)
    ? t(`views.${view}`)
    : (folderList.find((f) => f.id === view)?.name ?? t("views.folder"));

  const open = useCallback(
    (item: EmailSummary | undefined) => {
      if (!item) return;
      void navigate(
        item.thread_id ? `/mail/${view}/${item.thread_id}` : `/mail/${view}/message/${item.id}`,
      );
    },
    [navigate, view],
  );
  const onOpen = useCallback(
    (index: number) => {
      setActiveIndex(index);
      open(items[index]);
    },
    [items, open],
  );
  const closeReader = useCallback(() => void navigate(`/mail/${view}`), [navigate, view]);
  const run = useCallback((action: EmailAction) => actions.mutate(action), [actions]);

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
  const move = (delta: number) =>
    setActiveIndex((index) => Math.max(0, Math.min(index + delta, items.length - 1)));
  const replyTarget = () => (openId ?? current?.id) || null;

  useShortcuts({
    j: () => move(1),
    k: () => move(-1),
    o: () => onOpen(activeIndex),
    Enter: () => onOpen(activeIndex),
    Escape: () => (selection.selected.size > 0 ? selection.clear() : closeReader()),
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

  return (
    <div className={`mail${threadId || emailId ? " reading" : ""}`}>
      <Sidebar accounts={accounts.data ?? []} folders={folderList} />
      <section className="list-pane" aria-label={viewLabel}>
        <h1 className="list-title">{viewLabel}</h1>
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
          <MessageList
            label={viewLabel}
            items={items}
            hasNextPage={list.hasNextPage}
            isFetchingNextPage={list.isFetchingNextPage}
            fetchNextPage={() => void list.fetchNextPage()}
            activeIndex={activeIndex}
            openId={openId}
            selected={selection.selected}
            onOpen={onOpen}
            onToggle={selection.toggle}
            onActiveChange={setActiveIndex}
          />
        )}
      </section>
      <ReaderPane
        key={threadId ?? emailId ?? "none"}
        threadId={threadId}
        emailId={emailId}
        folders={folderList}
        onAction={run}
        onClose={closeReader}
      />
      {compose ? <Composer mode={compose} accounts={accounts.data ?? []} /> : null}
    </div>
  );
}
