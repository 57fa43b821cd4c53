import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { ApiError } from "@/lib/api/errors";
import { errorMessage } from "@/lib/errorMessage";
import { retryAfterSeconds } from "../retry";

/**
 * An error with a way to try again. A search rate limit counts down to the moment searching
 * works again, and the retry waits for it.
 */
export function RetryNotice({ error, onRetry }: { error: unknown; onRetry: () => void }) {
  const { t } = useTranslation("search");
  const wait = retryAfterSeconds(error);
  const [until] = useState(() => (wait === null ? 0 : Date.now() + wait * 1000));
  const [now, setNow] = useState(() => Date.now());
  const left = Math.max(0, Math.ceil((until - now) / 1000));

  useEffect(() => {
    if (left <= 0) return;
    const timer = setTimeout(() => setNow(Date.now()), 1000);
    return () => clearTimeout(timer);
  }, [left, now]);

  // The alert is read out once; the countdown lives on the button, which is not announced.
  const searches = error instanceof ApiError && error.details.limit === "search";
  const text =
    wait === null
      ? errorMessage(t, error)
      : t(searches ? "rateLimited" : "tooManyRequests", { count: wait });
  return (
    <div className="retry-notice">
      <Alert>{text}</Alert>
      <Button onClick={onRetry} disabled={left > 0}>
        {left > 0 ? t("retryIn", { count: left }) : t("retry")}
      </Button>
    </div>
  );
}
