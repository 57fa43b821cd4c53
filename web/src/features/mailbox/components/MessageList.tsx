import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import type { EmailSummary } from "@/lib/api/types";
import { MessageRow, ROW_HEIGHT, type RowDecoration } from "./MessageRow";

/** Rows left below the viewport when the next page is requested. */
const PREFETCH_ROWS = 30;

interface Props {
  label: string;
  items: readonly EmailSummary[];
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => void;
  activeIndex: number;
  openId: string | null;
  selected: ReadonlySet<string>;
  onOpen: (index: number) => void;
  onToggle: (id: string, range: boolean) => void;
  onActiveChange: (index: number) => void;
  /** Rows taller than the mail list's, for lists that show more per message. */
  rowHeight?: number;
  decorate?: (email: EmailSummary) => RowDecoration | undefined;
}

/** The virtualised list: only the rows in view (plus overscan) are in the DOM. */
export function MessageList({
  label,
  items,
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
  activeIndex,
  openId,
  selected,
  onOpen,
  onToggle,
  onActiveChange,
  rowHeight = ROW_HEIGHT,
  decorate,
}: Props) {
  const { t } = useTranslation("mail");
  const scrollRef = useRef<HTMLDivElement>(null);
  const count = items.length + (hasNextPage ? 1 : 0);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is the point
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeight,
    overscan: 8,
    getItemKey: (index) => items[index]?.id ?? `loader-${index}`,
  });
  const rows = virtualizer.getVirtualItems();
  const lastIndex = rows.length > 0 ? (rows[rows.length - 1]?.index ?? 0) : 0;

  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= items.length - PREFETCH_ROWS) {
      fetchNextPage();
    }
  }, [hasNextPage, isFetchingNextPage, lastIndex, items.length, fetchNextPage]);

  useEffect(() => {
    if (activeIndex >= 0) virtualizer.scrollToIndex(activeIndex, { align: "auto" });
  }, [activeIndex, virtualizer]);

  const activeId = items[activeIndex]?.id;

  return (
    <div
      ref={scrollRef}
      className="list-scroll"
      role="listbox"
      aria-label={label}
      aria-multiselectable="true"
      aria-activedescendant={activeId ? `row-${activeId}` : undefined}
      aria-busy={isFetchingNextPage}
      tabIndex={0}
      onKeyDown={(event) => {
        if (event.key === "ArrowDown") {
          event.preventDefault();
          onActiveChange(Math.min(activeIndex + 1, items.length - 1));
        } else if (event.key === "ArrowUp") {
          event.preventDefault();
          onActiveChange(Math.max(activeIndex - 1, 0));
        }
      }}
    >
      <div className="list-inner" style={{ height: virtualizer.getTotalSize() }}>
        {rows.map((row) => {
          const email = items[row.index];
          if (!email) {
            return (
              <div
                key={row.key}
                className="row row-loading"
                style={{ transform: `translateY(${row.start}px)`, height: rowHeight }}
                aria-hidden="true"
              >
                {t("loadingMore")}
              </div>
            );
          }
          return (
            <MessageRow
              key={row.key}
              email={email}
              index={row.index}
              setSize={hasNextPage ? -1 : items.length}
              top={row.start}
              domId={`row-${email.id}`}
              height={rowHeight}
              decoration={decorate?.(email)}
              active={row.index === activeIndex}
              open={email.id === openId}
              selected={selected.has(email.id)}
              onOpen={onOpen}
              onToggle={onToggle}
            />
          );
        })}
      </div>
    </div>
  );
}
