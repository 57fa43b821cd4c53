import type { TFunction } from "i18next";
import { ApiError } from "@/lib/api/errors";

/** The user-facing text of an error, by its code (`errors:codes.<CODE>`). */
export function errorMessage(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    return t(`errors:codes.${error.code}`, { defaultValue: t("errors:unknown") });
  }
  return t("errors:unknown");
}
