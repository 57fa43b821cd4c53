import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";

export type SendRequest =
  | {
      kind: "new";
      body: {
        account_id: string;
        to: string[];
        cc: string[];
        bcc: string[];
        subject: string;
        body_text: string;
        send_at?: string | null;
      };
    }
  | {
      kind: "reply";
      emailId: string;
      body: {
        reply_all: boolean;
        cc: string[];
        bcc: string[];
        body_text: string;
        send_at?: string | null;
      };
    }
  | {
      kind: "forward";
      emailId: string;
      body: {
        to: string[];
        cc: string[];
        bcc: string[];
        body_text: string;
        include_attachments: boolean;
        send_at?: string | null;
      };
    };

/** Splits a recipients field ("a@x, Name <b@y>; c@z") into entries; the server validates them. */
export function splitRecipients(value: string): string[] {
  const out: string[] = [];
  let current = "";
  let inAngle = false;
  let inQuote = false;
  for (const char of value) {
    if (char === '"') inQuote = !inQuote;
    else if (char === "<") inAngle = true;
    else if (char === ">") inAngle = false;
    if ((char === "," || char === ";") && !inAngle && !inQuote) {
      if (current.trim()) out.push(current.trim());
      current = "";
    } else {
      current += char;
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * Sends with an `Idempotency-Key`: the caller keeps one key per distinct request, so a retry
 * after a lost answer is answered from the first attempt instead of sending twice.
 */
export function useSend() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ request, key }: { request: SendRequest; key: string }) => {
      const params = { header: { "Idempotency-Key": key } };
      if (request.kind === "new") {
        return unwrap(await api.POST("/api/emails", { params, body: request.body }));
      }
      if (request.kind === "reply") {
        return unwrap(
          await api.POST("/api/emails/{email_id}/reply", {
            params: { ...params, path: { email_id: request.emailId } },
            body: request.body,
          }),
        );
      }
      return unwrap(
        await api.POST("/api/emails/{email_id}/forward", {
          params: { ...params, path: { email_id: request.emailId } },
          body: request.body,
        }),
      );
    },
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: queryKeys.folders });
      void client.invalidateQueries({ queryKey: queryKeys.emailLists, refetchType: "none" });
    },
  });
}
