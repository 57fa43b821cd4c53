import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useRef, useState } from "react";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";

export type DraftWrite = Schemas["DraftWrite"];
export type DraftRead = Schemas["DraftRead"];
export type SaveState = "idle" | "saving" | "saved" | "error";

export function useDraft(draftId: string | null) {
  return useQuery({
    queryKey: ["draft", draftId ?? ""],
    queryFn: async ({ signal }) =>
      unwrap(
        await api.GET("/api/drafts/{draft_id}", {
          params: { path: { draft_id: draftId ?? "" } },
          signal,
        }),
      ),
    enabled: Boolean(draftId),
    staleTime: 0,
    gcTime: 0,
  });
}

/**
 * The server-side draft of one composer: created on the first save, replaced on later ones.
 * Saves run one after another, so two quick saves cannot create two drafts.
 */
export function useDraftSaver(initialId: string | null) {
  const client = useQueryClient();
  const idRef = useRef<string | null>(initialId);
  const chain = useRef<Promise<unknown>>(Promise.resolve());
  const [state, setState] = useState<SaveState>("idle");
  const [savedAt, setSavedAt] = useState<Date | null>(null);

  const save = useCallback(
    (body: DraftWrite): Promise<string> => {
      const run = chain.current.then(async () => {
        setState("saving");
        try {
          const id = idRef.current;
          const draft = id
            ? unwrap(
                await api.PUT("/api/drafts/{draft_id}", {
                  params: { path: { draft_id: id } },
                  body,
                }),
              )
            : unwrap(await api.POST("/api/drafts", { body }));
          idRef.current = draft.id;
          setState("saved");
          setSavedAt(new Date(draft.updated_at));
          void client.invalidateQueries({ queryKey: queryKeys.emailLists, refetchType: "none" });
          void client.invalidateQueries({ queryKey: queryKeys.folders });
          return draft.id;
        } catch (error) {
          setState("error");
          throw error;
        }
      });
      chain.current = run.catch(() => undefined);
      return run;
    },
    [client],
  );

  const discard = useCallback(async () => {
    await chain.current;
    const id = idRef.current;
    idRef.current = null;
    if (!id) return;
    unwrap(await api.DELETE("/api/drafts/{draft_id}", { params: { path: { draft_id: id } } }));
    void client.invalidateQueries({ queryKey: queryKeys.emailLists });
    void client.invalidateQueries({ queryKey: queryKeys.folders });
  }, [client]);

  const currentId = useCallback(() => idRef.current, []);

  return { save, discard, currentId, state, savedAt };
}

/** Sends a saved draft now or at `sendAt`, with an `Idempotency-Key` as every send. */
export function useSendDraft() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({
      draftId,
      sendAt,
      key,
    }: {
      draftId: string;
      sendAt: string | null;
      key: string;
    }) =>
      unwrap(
        await api.POST("/api/drafts/{draft_id}/send", {
          params: { path: { draft_id: draftId }, header: { "Idempotency-Key": key } },
          body: { send_at: sendAt },
        }),
      ),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: queryKeys.folders });
      void client.invalidateQueries({ queryKey: queryKeys.emailLists });
    },
  });
}
