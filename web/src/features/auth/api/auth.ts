import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";
import { clearSession, setAccessToken, getSessionState } from "@/lib/auth/session";

export function useMe() {
  const status = getSessionState().status;
  return useQuery({
    queryKey: queryKeys.me,
    queryFn: async () => unwrap(await api.GET("/api/auth/me")),
    enabled: status === "authenticated",
    staleTime: 5 * 60_000,
  });
}

export function useLogin() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["LoginRequest"]) =>
      unwrap(await api.POST("/api/auth/login", { body })),
    onSuccess: (answer) => {
      client.setQueryData(queryKeys.me, answer.user);
      setAccessToken(answer.access_token, answer.expires_in);
    },
  });
}

export function useLogout() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      await api.POST("/api/auth/logout");
    },
    onSettled: () => {
      clearSession();
      client.clear();
    },
  });
}

export function useRegister() {
  return useMutation({
    mutationFn: async (body: Schemas["RegisterRequest"]) =>
      unwrap(await api.POST("/api/auth/register", { body })),
  });
}

export function useForgotPassword() {
  return useMutation({
    mutationFn: async (email: string) =>
      unwrap(await api.POST("/api/auth/forgot-password", { body: { email } })),
  });
}

export function useResendVerification() {
  return useMutation({
    mutationFn: async (email: string) =>
      unwrap(await api.POST("/api/auth/resend-verification", { body: { email } })),
  });
}

export function useResetPassword() {
  return useMutation({
    mutationFn: async (body: Schemas["ResetPasswordRequest"]) =>
      unwrap(await api.POST("/api/auth/reset-password", { body })),
  });
}

export function useVerifyEmail(token: string | null) {
  return useQuery({
    queryKey: ["verify-email", token],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/auth/verify-email", { params: { query: { token: token ?? "" } } }),
      ),
    enabled: Boolean(token),
    retry: false,
    staleTime: Infinity,
  });
}

export function useVerifyResetToken(token: string | null) {
  return useQuery({
    queryKey: ["verify-reset-token", token],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/auth/verify-reset-token", {
          params: { query: { token: token ?? "" } },
        }),
      ),
    enabled: Boolean(token),
    retry: false,
    staleTime: Infinity,
  });
}
