import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";

/** `PATCH /api/auth/me`: the profile settings (language, time zone, name). */
export function useUpdateProfile() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: Schemas["ProfileUpdate"]) =>
      unwrap(await api.PATCH("/api/auth/me", { body })),
    onSuccess: (user) => client.setQueryData(queryKeys.me, user),
  });
}
