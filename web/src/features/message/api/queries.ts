import { queryOptions, useQuery, type QueryClient } from "@tanstack/react-query";
import { api, authFetch, unwrap } from "@/lib/api/client";
import { errorFromResponse } from "@/lib/api/errors";
import { queryKeys } from "@/lib/api/mailCache";
import type { Attachment, EmailDetail, EmailSummary, Thread } from "@/lib/api/types";

/** While the pipeline works on a message its AI fields are null; look again shortly (the
 * `email_processed` event usually comes first). Bounded, so a stuck job is not polled forever. */
const AI_POLL_MS = 4_000;
const AI_POLL_MAX = 30;
const WORKING = new Set(["pending", "processing"]);

function aiPoll(messages: readonly EmailDetail[] | undefined, updates: number): number | false {
  return messages?.some((m) => WORKING.has(m.ai_status)) && updates < AI_POLL_MAX
    ? AI_POLL_MS
    : false;
}

export function threadQuery(threadId: string) {
  return queryOptions({
    queryKey: queryKeys.thread(threadId),
    queryFn: async ({ signal }): Promise<Thread> =>
      unwrap(
        await api.GET("/api/threads/{thread_id}", {
          params: { path: { thread_id: threadId } },
          signal,
        }),
      ),
  });
}

export function emailQuery(emailId: string) {
  return queryOptions({
    queryKey: queryKeys.email(emailId),
    queryFn: async ({ signal }): Promise<EmailDetail> =>
      unwrap(
        await api.GET("/api/emails/{email_id}", {
          params: { path: { email_id: emailId } },
          signal,
        }),
      ),
  });
}

export function useThread(threadId: string | null) {
  return useQuery({
    ...threadQuery(threadId ?? ""),
    enabled: Boolean(threadId),
    refetchInterval: (query) => aiPoll(query.state.data?.messages, query.state.dataUpdateCount),
  });
}

export function useEmail(emailId: string | null) {
  return useQuery({
    ...emailQuery(emailId ?? ""),
    enabled: Boolean(emailId),
    refetchInterval: (query) =>
      aiPoll(query.state.data ? [query.state.data] : undefined, query.state.dataUpdateCount),
  });
}

/** A prefetched message counts as fresh this long: opening it right after shows it at once. */
export const PREFETCH_FRESH_MS = 30_000;

/**
 * Load what opening `item` shows (its conversation, or the message alone), so that moving to a
 * row with j/k and opening it does not wait for the server. Reading does not mark it read.
 */
export function prefetchMessage(client: QueryClient, item: EmailSummary, byThread: boolean) {
  // A failure here is not the user's concern: opening the message asks again and shows it.
  const ignore = () => undefined;
  if (byThread && item.thread_id) {
    client.query({ ...threadQuery(item.thread_id), staleTime: PREFETCH_FRESH_MS }).catch(ignore);
  } else {
    client.query({ ...emailQuery(item.id), staleTime: PREFETCH_FRESH_MS }).catch(ignore);
  }
}

async function fetchBlob(url: string): Promise<Blob> {
  const response = await authFetch(new Request(new URL(url, window.location.origin)));
  if (!response.ok) throw await errorFromResponse(response);
  return response.blob();
}

function blobToDataUrl(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error("read failed"));
    reader.readAsDataURL(blob);
  });
}

/**
 * Inline images (cid:) of a message as data: URLs. The sandboxed mail frame has an opaque
 * origin and cannot send the bearer token, so the images are fetched here and handed in.
 */
export function useInlineImages(email: EmailDetail | undefined) {
  const inline = (email?.attachments ?? []).filter(
    (a) => a.is_inline && a.content_type.startsWith("image/") && email?.body_html?.includes(a.url),
  );
  return useQuery({
    queryKey: ["inline-images", email?.id, inline.map((a) => a.id)],
    queryFn: async () => {
      const entries = await Promise.all(
        inline.map(async (a) => [a.url, await blobToDataUrl(await fetchBlob(a.url))] as const),
      );
      return new Map(entries);
    },
    enabled: inline.length > 0,
    staleTime: Infinity,
  });
}

/** Downloads an attachment through the authenticated client. */
export async function downloadAttachment(attachment: Attachment): Promise<void> {
  const separator = attachment.url.includes("?") ? "&" : "?";
  const blob = await fetchBlob(`${attachment.url}${separator}download=true`);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = attachment.filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
