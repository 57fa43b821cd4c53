import { useSyncExternalStore } from "react";
import { getSessionState, subscribeSession } from "@/lib/auth/session";

export function useSession() {
  return useSyncExternalStore(subscribeSession, getSessionState);
}
