import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { ApiError } from "@/lib/api/errors";
import { queryKeys } from "@/lib/api/mailCache";

export async function autodetect(email: string): Promise<Schemas["AutodetectRead"]> {
  return unwrap(await api.GET("/api/accounts/autodetect", { params: { query: { email } } }));
}

export function useCreateAccount() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["AccountCreate"]) =>
      unwrap(await api.POST("/api/accounts", { body })),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: queryKeys.accounts });
      void client.invalidateQueries({ queryKey: queryKeys.folders });
    },
  });
}

export function useConnectOAuth() {
  return useMutation({
    mutationFn: async (provider: "gmail" | "microsoft") => {
      const path = provider === "gmail" ? "google" : "microsoft";
      return unwrap(
        await api.POST("/api/accounts/oauth/{provider}", { params: { path: { provider: path } } }),
      );
    },
    onSuccess: (answer) => {
      window.location.assign(answer.authorization_url);
    },
  });
}

/** Which server failed and why (EMAIL001 IMAP, EMAIL002 SMTP; `details.reason`). */
export function connectionProblem(
  error: unknown,
): { server: "imap" | "smtp"; reason: string } | null {
  if (!(error instanceof ApiError)) return null;
  if (error.code !== "EMAIL001" && error.code !== "EMAIL002") return null;
  const reason = typeof error.details.reason === "string" ? error.details.reason : "unknown";
  return { server: error.code === "EMAIL001" ? "imap" : "smtp", reason };
}
