import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "@/lib/api/client";
import { queryKeys } from "@/lib/api/mailCache";

export function useAccountList() {
  return useQuery({
    queryKey: queryKeys.accounts,
    queryFn: async () => unwrap(await api.GET("/api/accounts")).items,
  });
}
