/**
 * Query keys of server state shared by several features, and the helpers that patch cached
 * mail in place (optimistic updates and live events) without refetching whole lists.
 */
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type { EmailPage, EmailSummary, Thread } from "./types";
import type { operations } from "./schema";

export type EmailFilters = NonNullable<
  operations["list_emails_api_emails_get"]["parameters"]["query"]
>;

export const queryKeys = {
  me: ["me"] as const,
  accounts: ["accounts"] as const,
  folders: ["folders"] as const,
  emailLists: ["emails"] as const,
  emailList: (filters: EmailFilters) => ["emails", filters] as const,
  threads: ["thread"] as const,
  thread: (id: string) => ["thread", id] as const,
  email: (id: string) => ["email", id] as const,
};

/** Every optimistic change to mail carries this key, so list refreshes can wait for it. */
export const mailChangeKey = ["mail-change"] as const;

/**
 * Refetches the cached lists after a live event. While a change of the user's own is in
 * flight a refetch could answer from before that change and bring moved mail back, so the
 * lists are only marked stale then; the change refetches them when it settles.
 */
export function refreshLists(client: QueryClient): void {
  const busy = client.isMutating({ mutationKey: mailChangeKey }) > 0;
  void client.invalidateQueries({
    queryKey: queryKeys.emailLists,
    refetchType: busy ? "none" : "active",
  });
}

type EmailLists = InfiniteData<EmailPage, string | null>;
export type Snapshot = [readonly unknown[], unknown][];

export type EmailPatch = Partial<
  Pick<EmailSummary, "is_read" | "is_starred" | "folder_id" | "category" | "priority" | "tags">
>;

/** Saves what the patch helpers may touch, for a rollback. */
export function snapshotMail(client: QueryClient): Snapshot {
  return [
    ...client.getQueriesData({ queryKey: queryKeys.emailLists }),
    ...client.getQueriesData({ queryKey: queryKeys.threads }),
    ...client.getQueriesData({ queryKey: ["email"] }),
  ];
}

export function restoreMail(client: QueryClient, snapshot: Snapshot): void {
  for (const [key, data] of snapshot) client.setQueryData(key, data);
}

function mapLists(client: QueryClient, map: (items: EmailSummary[]) => EmailSummary[]): void {
  client.setQueriesData<EmailLists>({ queryKey: queryKeys.emailLists }, (data) =>
    data
      ? { ...data, pages: data.pages.map((page) => ({ ...page, items: map(page.items) })) }
      : data,
  );
}

/** Applies a change to every cached copy of the given messages. */
export function patchEmails(client: QueryClient, ids: readonly string[], patch: EmailPatch): void {
  const wanted = new Set(ids);
  const apply = <T extends { id: string }>(item: T): T =>
    wanted.has(item.id) ? { ...item, ...patch } : item;
  mapLists(client, (items) => items.map(apply));
  client.setQueriesData<Thread>({ queryKey: queryKeys.threads }, (thread) =>
    thread ? { ...thread, messages: thread.messages.map(apply) } : thread,
  );
  for (const id of ids) {
    client.setQueryData<EmailSummary>(queryKeys.email(id), (email) =>
      email ? { ...email, ...patch } : email,
    );
  }
}

/** Takes messages out of the cached lists (archived, deleted or moved away). */
export function removeFromLists(client: QueryClient, ids: readonly string[]): void {
  const gone = new Set(ids);
  mapLists(client, (items) => items.filter((item) => !gone.has(item.id)));
}

/** Every cached message in list order, across the loaded pages of one list. */
export function flattenPages(data: InfiniteData<EmailPage> | undefined): EmailSummary[] {
  return data ? data.pages.flatMap((page) => page.items) : [];
}
