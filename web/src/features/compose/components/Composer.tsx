import { useQueryClient } from "@tanstack/react-query";
import { useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Dialog } from "@/components/ui/Dialog";
import { Field } from "@/components/ui/Field";
import { ApiError } from "@/lib/api/errors";
import { queryKeys } from "@/lib/api/mailCache";
import type { Account, EmailDetail, Thread } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { displayName } from "@/lib/format";
import { useUiStore, type ComposeMode } from "@/lib/uiStore";
import { splitRecipients, useSend, type SendRequest } from "../api/send";

function findCached(
  client: ReturnType<typeof useQueryClient>,
  id: string,
): EmailDetail | undefined {
  const direct = client.getQueryData<EmailDetail>(queryKeys.email(id));
  if (direct) return direct;
  for (const [, thread] of client.getQueriesData<Thread>({ queryKey: queryKeys.threads })) {
    const found = thread?.messages.find((m) => m.id === id);
    if (found) return found;
  }
  return undefined;
}

function prefixed(prefix: string, subject: string): string {
  return subject.toLowerCase().startsWith(prefix.toLowerCase()) ? subject : `${prefix}${subject}`;
}

export function Composer({ mode, accounts }: { mode: ComposeMode; accounts: readonly Account[] }) {
  const { t } = useTranslation("compose");
  const client = useQueryClient();
  const close = useUiStore((state) => state.closeCompose);
  const announce = useUiStore((state) => state.announce);
  const send = useSend();
  const original = mode.kind === "new" ? undefined : findCached(client, mode.emailId);
  const sendable = useMemo(() => accounts.filter((a) => a.kind !== "local"), [accounts]);

  const [accountId, setAccountId] = useState(original?.account_id ?? sendable[0]?.id ?? "");
  const [to, setTo] = useState("");
  const [cc, setCc] = useState("");
  const [bcc, setBcc] = useState("");
  const [subject, setSubject] = useState(() =>
    original ? prefixed(mode.kind === "forward" ? "Fwd: " : "Re: ", original.subject) : "",
  );
  const [body, setBody] = useState("");
  const [includeAttachments, setIncludeAttachments] = useState(true);
  const keyRef = useRef<{ payload: string; key: string } | null>(null);

  function request(): SendRequest {
    const lists = { cc: splitRecipients(cc), bcc: splitRecipients(bcc) };
    if (mode.kind === "reply") {
      return {
        kind: "reply",
        emailId: mode.emailId,
        body: { reply_all: mode.all, body_text: body, ...lists },
      };
    }
    if (mode.kind === "forward") {
      return {
        kind: "forward",
        emailId: mode.emailId,
        body: {
          to: splitRecipients(to),
          body_text: body,
          include_attachments: includeAttachments,
          ...lists,
        },
      };
    }
    return {
      kind: "new",
      body: { account_id: accountId, to: splitRecipients(to), subject, body_text: body, ...lists },
    };
  }

  function idempotencyKey(payload: string): string {
    if (keyRef.current?.payload !== payload) {
      keyRef.current = { payload, key: crypto.randomUUID() };
    }
    return keyRef.current.key;
  }

  async function submit() {
    const req = request();
    try {
      await send.mutateAsync({ request: req, key: idempotencyKey(JSON.stringify(req)) });
      announce(t("sent"));
      close();
    } catch {
      // shown from send.error
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit();
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void submit();
    }
  }

  const invalid =
    send.error instanceof ApiError && Array.isArray(send.error.details.invalid)
      ? (send.error.details.invalid as unknown[]).map(String)
      : [];
  const title =
    mode.kind === "new"
      ? t("title.new")
      : mode.kind === "forward"
        ? t("title.forward")
        : mode.all
          ? t("title.replyAll")
          : t("title.reply");

  return (
    <Dialog title={title} onClose={close} className="composer">
      <form onSubmit={onSubmit} onKeyDown={onKeyDown}>
        {mode.kind === "new" ? (
          <div className="field">
            <label htmlFor="compose-from">{t("from")}</label>
            <select
              id="compose-from"
              value={accountId}
              onChange={(e) => setAccountId(e.target.value)}
            >
              {sendable.map((account) => (
                <option key={account.id} value={account.id}>
                  {account.email}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {mode.kind === "reply" ? (
          <p className="muted">
            {original
              ? t(mode.all ? "replyingAll" : "replyingTo", { name: displayName(original.sender) })
              : t("replying")}
          </p>
        ) : (
          <Field
            label={t("to")}
            value={to}
            onChange={(e) => setTo(e.target.value)}
            autoComplete="off"
          />
        )}
        <Field
          label={t("cc")}
          value={cc}
          onChange={(e) => setCc(e.target.value)}
          autoComplete="off"
        />
        <Field
          label={t("bcc")}
          value={bcc}
          onChange={(e) => setBcc(e.target.value)}
          autoComplete="off"
        />
        {mode.kind === "new" ? (
          <Field
            label={t("subject")}
            value={subject}
            onChange={(e) => setSubject(e.target.value)}
          />
        ) : (
          <p className="muted">{t("subjectIs", { subject })}</p>
        )}
        <div className="field">
          <label htmlFor="compose-body">{t("body")}</label>
          <textarea
            id="compose-body"
            rows={12}
            value={body}
            onChange={(e) => setBody(e.target.value)}
          />
        </div>
        {mode.kind === "forward" ? (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={includeAttachments}
              onChange={(e) => setIncludeAttachments(e.target.checked)}
            />
            {t("includeAttachments")}
          </label>
        ) : null}
        {send.error ? (
          <Alert>
            {errorMessage(t, send.error)}
            {invalid.length > 0 ? ` ${t("invalid", { list: invalid.join(", ") })}` : null}
          </Alert>
        ) : null}
        <div className="dialog-actions">
          <Button variant="ghost" onClick={close}>
            {t("discard")}
          </Button>
          <Button
            type="submit"
            variant="primary"
            disabled={send.isPending || (mode.kind === "new" && !accountId)}
            title={t("sendShortcut")}
          >
            {send.isPending ? t("sending") : t("send")}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
