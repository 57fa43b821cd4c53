import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { api, unwrap, type Schemas } from "@/lib/api/client";

export type Settings = Schemas["SettingsRead"];
export type SettingsUpdate = Schemas["SettingsUpdate"];
export type AiSettings = Schemas["AISettings"];
export const AI_FEATURES = [
  "classify",
  "priority",
  "tags",
  "summary",
  "suggestions",
  "ask",
] as const;
export type AiFeature = (typeof AI_FEATURES)[number];

/** The same key the reader uses for the AI switches, so a change here shows there at once. */
export const settingsKey = ["settings"] as const;

export function useSettings() {
  return useQuery({
    queryKey: settingsKey,
    queryFn: async ({ signal }) => unwrap(await api.GET("/api/settings", { signal })),
  });
}

function merge(settings: Settings, update: SettingsUpdate): Settings {
  const ai = settings.ai;
  const patch = update.ai;
  if (!patch || !ai) return settings;
  const features = { ...ai.features };
  for (const [name, change] of Object.entries(patch.features ?? {})) {
    const key = name as AiFeature;
    const current = features[key] ?? { enabled: true, provider: "auto" };
    features[key] = {
      enabled: change.enabled ?? current.enabled,
      provider: change.provider ?? current.provider,
    };
  }
  return {
    ...settings,
    ai: {
      ...ai,
      enabled: patch.enabled ?? ai.enabled,
      local_only: patch.local_only ?? ai.local_only,
      redact_pii: patch.redact_pii ?? ai.redact_pii,
      summary_language: patch.summary_language ?? ai.summary_language,
      features,
    },
  };
}

/**
 * `PATCH /api/settings` (nested objects merge). The change shows at once, in the same event as
 * the click, and is rolled back on failure; while several are in flight the last answer wins.
 */
export function useUpdateSettings() {
  const client = useQueryClient();
  const mutation = useMutation({
    mutationKey: settingsKey,
    mutationFn: async ({ body }: { body: SettingsUpdate; before: Settings | undefined }) =>
      unwrap(await api.PATCH("/api/settings", { body })),
    onError: (_error, { before }) => {
      if (before) client.setQueryData(settingsKey, before);
    },
    onSuccess: (settings) => {
      if (client.isMutating({ mutationKey: settingsKey }) === 1) {
        client.setQueryData(settingsKey, settings);
      }
    },
  });
  const { mutate } = mutation;
  const update = useCallback(
    (body: SettingsUpdate) => {
      // A read of the settings still in flight answers from before this change: cancel it, or
      // its answer would put the old value back under the user's click.
      void client.cancelQueries({ queryKey: settingsKey });
      const before = client.getQueryData<Settings>(settingsKey);
      if (before) client.setQueryData(settingsKey, merge(before, body));
      mutate({ body, before });
    },
    [client, mutate],
  );
  return { ...mutation, update };
}
