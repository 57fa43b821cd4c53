import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import {
  mailChangeKey,
  patchEmails,
  queryKeys,
  restoreMail,
  snapshotMail,
  type Snapshot,
} from "@/lib/api/mailCache";
import type { EmailDetail, Thread } from "@/lib/api/types";

export type Decision = Schemas["DecisionRead"];
export type Suggestion = Schemas["SuggestionRead"];
export type AiSettings = Schemas["AISettings"];
export type AiFeature = "classify" | "priority" | "tags" | "summary" | "suggestions" | "ask";

export const CATEGORIES = [
  "personal",
  "work",
  "promotions",
  "newsletter",
  "notification",
  "spam",
] as const;
export type Category = (typeof CATEGORIES)[number];

/** The priority a band correction sets: the middle of the band (PRODUCT_SPEC §7). */
export const BAND_PRIORITY = { high: 85, medium: 55, low: 20 } as const;
export type Band = keyof typeof BAND_PRIORITY;

export function bandOf(priority: number): Band {
  return priority >= 70 ? "high" : priority >= 40 ? "medium" : "low";
}

export const settingsKey = ["settings"] as const;

export const aiKeys = {
  decisions: (id: string) => [...queryKeys.email(id), "ai-decisions"] as const,
  suggestions: (id: string, tone: string) => [...queryKeys.email(id), "suggestions", tone] as const,
};

type Settings = Schemas["SettingsRead"];

function useSettings<T>(select: (settings: Settings) => T) {
  return useQuery({
    queryKey: settingsKey,
    queryFn: async ({ signal }) => unwrap(await api.GET("/api/settings", { signal })),
    select,
    staleTime: 60_000,
  });
}

const selectAi = (settings: Settings) => settings.ai;
const selectTimeZone = (settings: Settings) => settings.timezone;

/** The user's AI settings: a feature that is off is not shown (PRODUCT_SPEC §2.5 Controls). */
export function useAiSettings() {
  return useSettings(selectAi);
}

/** The user's time zone (snooze presets are wall-clock times there). */
export function useTimeZone() {
  return useSettings(selectTimeZone);
}

export function featureOn(ai: AiSettings | undefined, feature: AiFeature): boolean {
  if (!ai) return false;
  return (ai.enabled ?? true) && (ai.features?.[feature]?.enabled ?? true);
}

/** The decision log of one message ("Why?"): newest first. */
export function useDecisions(emailId: string, enabled = true) {
  return useQuery({
    queryKey: aiKeys.decisions(emailId),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/emails/{email_id}/ai-decisions", {
          params: { path: { email_id: emailId } },
          signal,
        }),
      ).items,
    enabled,
  });
}

export function useSummarize(emailId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/ai/summarize", { body: { email_id: emailId, style: "short" } })),
    onSettled: () => void client.invalidateQueries({ queryKey: aiKeys.decisions(emailId) }),
  });
}

export function useSuggestions(emailId: string, tone: Suggestion["tone"], enabled: boolean) {
  return useQuery({
    queryKey: aiKeys.suggestions(emailId, tone),
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/ai/suggestions", {
          params: { query: { email_id: emailId, tone } },
          signal,
        }),
      ),
    enabled,
    staleTime: Infinity,
    retry: false,
  });
}

/** Applies a change to the detail of a message wherever it is cached (alone or in a thread). */
export function updateDetail(
  client: QueryClient,
  id: string,
  change: (email: EmailDetail) => EmailDetail,
): void {
  client.setQueryData<EmailDetail>(queryKeys.email(id), (email) => (email ? change(email) : email));
  client.setQueriesData<Thread>({ queryKey: queryKeys.threads }, (thread) =>
    thread && thread.messages.some((m) => m.id === id)
      ? { ...thread, messages: thread.messages.map((m) => (m.id === id ? change(m) : m)) }
      : thread,
  );
}

export type Correction = { category: Category } | { priority: number };

/**
 * A correction of the category or the priority: `PATCH /api/emails/{id}`, which the server
 * records as feedback the classifier learns from. Optimistic, rolled back on failure.
 */
export function useCorrection(emailId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationKey: mailChangeKey,
    mutationFn: async (correction: Correction) =>
      unwrap(
        await api.PATCH("/api/emails/{email_id}", {
          params: { path: { email_id: emailId } },
          body: correction,
        }),
      ),
    onMutate: async (correction): Promise<Snapshot> => {
      await client.cancelQueries({ queryKey: queryKeys.emailLists });
      await client.cancelQueries({ queryKey: queryKeys.email(emailId) });
      const snapshot = snapshotMail(client);
      if ("category" in correction) {
        patchEmails(client, [emailId], { category: correction.category });
        updateDetail(client, emailId, (email) => ({ ...email, needs_review: false }));
      } else {
        patchEmails(client, [emailId], { priority: correction.priority });
        updateDetail(client, emailId, (email) => ({
          ...email,
          priority_band: bandOf(correction.priority),
          priority_reasons: [{ code: "user_override", text: "", weight: null }],
        }));
      }
      return snapshot;
    },
    onSuccess: (email) => updateDetail(client, emailId, () => email),
    onError: (_error, _vars, snapshot) => {
      if (snapshot) restoreMail(client, snapshot);
    },
    onSettled: () => {
      void client.invalidateQueries({ queryKey: aiKeys.decisions(emailId) });
      if (client.isMutating({ mutationKey: mailChangeKey }) === 1) {
        void client.invalidateQueries({ queryKey: queryKeys.emailLists });
      }
    },
  });
}
