import { useQueryClient } from "@tanstack/react-query";
import { useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { Alert } from "@/components/ui/Alert";
import { Button } from "@/components/ui/Button";
import { Dialog } from "@/components/ui/Dialog";
import { Field } from "@/components/ui/Field";
import { Spinner } from "@/components/ui/Spinner";
import { ApiError } from "@/lib/api/errors";
import { queryKeys } from "@/lib/api/mailCache";
import type { Account, Address, EmailDetail, Thread } from "@/lib/api/types";
import { errorMessage } from "@/lib/errorMessage";
import { displayName, formatFullDate } from "@/lib/format";
import { useUiStore, type ComposeMode } from "@/lib/uiStore";
import {
  useDraft,
  useDraftSaver,
  useSendDraft,
  type DraftRead,
  type DraftWrite,
} from "../api/drafts";
import { splitRecipients, useSend, type SendRequest } from "../api/send";
import { useAutosave } from "../hooks/useAutosave";
import { replyRecipients } from "../recipients";
import { checkSendAt, defaultSendAt } from "../sendAt";
import "./composer.css";

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

function formatAddresses(list: readonly Address[]): string {
  return list.map((a) => (a.name ? `${a.name} <${a.address}>` : a.address)).join(", ");
}

/** Extras a composer can be opened with: a starting text, or a saved draft to resume. */
function extras(mode: ComposeMode): { body: string; draftId: string | null } {
  return {
    body: mode.kind === "reply" ? (mode.body ?? "") : "",
    draftId: mode.kind === "new" ? (mode.draftId ?? null) : null,
  };
}

export function Composer({ mode, accounts }: { mode: ComposeMode; accounts: readonly Account[] }) {
  const { t } = useTranslation("compose");
  const close = useUiStore((state) => state.closeCompose);
  const { draftId } = extras(mode);
  const draft = useDraft(draftId);
  if (draftId && !draft.data) {
    return (
      <Dialog title={t("title.draft")} onClose={close} className="composer">
        {draft.isError ? (
          <Alert>{errorMessage(t, draft.error)}</Alert>
        ) : (
          <Spinner label={t("loadingDraft")} />
        )}
      </Dialog>
    );
  }
  return <ComposerForm mode={mode} accounts={accounts} draft={draft.data ?? null} />;
}

function ComposerForm({
  mode,
  accounts,
  draft,
}: {
  mode: ComposeMode;
  accounts: readonly Account[];
  draft: DraftRead | null;
}) {
  const { t, i18n } = useTranslation("compose");
  const client = useQueryClient();
  const close = useUiStore((state) => state.closeCompose);
  const announce = useUiStore((state) => state.announce);
  const send = useSend();
  const sendDraft = useSendDraft();
  const saver = useDraftSaver(draft?.id ?? null);
  const scheduleId = useId();
  // A resumed draft is edited and sent as itself, whatever it started as.
  const kind = draft ? "draft" : mode.kind;
  const original = mode.kind === "new" || draft ? undefined : findCached(client, mode.emailId);
  const sendable = useMemo(() => accounts.filter((a) => a.kind !== "local"), [accounts]);
  const own = useMemo(() => new Set(accounts.map((a) => a.email.toLowerCase())), [accounts]);

  const [chosenAccount, setAccountId] = useState(draft?.account_id ?? original?.account_id ?? "");
  // The accounts may still be loading when the composer opens: the first one is the default.
  const accountId = chosenAccount || sendable[0]?.id || "";
  const [to, setTo] = useState(draft ? formatAddresses(draft.to) : "");
  const [cc, setCc] = useState(draft ? formatAddresses(draft.cc) : "");
  const [bcc, setBcc] = useState(draft ? formatAddresses(draft.bcc) : "");
  const [subject, setSubject] = useState(() =>
    draft
      ? draft.subject
      : original
        ? prefixed(mode.kind === "forward" ? "Fwd: " : "Re: ", original.subject)
        : "",
  );
  const [body, setBody] = useState(draft?.body_text ?? extras(mode).body);
  const [includeAttachments, setIncludeAttachments] = useState(true);
  const [scheduling, setScheduling] = useState(Boolean(draft?.send_at));
  const [sendAt, setSendAt] = useState(() =>
    draft?.send_at ? defaultSendAt(new Date(draft.send_at)) : defaultSendAt(),
  );
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const keyRef = useRef<{ payload: string; key: string } | null>(null);

  function draftBody(): DraftWrite {
    const lists = { cc: splitRecipients(cc), bcc: splitRecipients(bcc) };
    if (kind === "reply" && mode.kind === "reply" && original) {
      const addressed = replyRecipients(original, mode.all, own);
      return {
        account_id: accountId,
        to: addressed.to,
        cc: [...addressed.cc, ...lists.cc],
        bcc: lists.bcc,
        subject,
        body_text: body,
        in_reply_to_id: mode.emailId,
      };
    }
    return {
      account_id: accountId,
      to: splitRecipients(to),
      ...lists,
      subject,
      body_text: body,
      in_reply_to_id: draft?.in_reply_to_id ?? null,
    };
  }

  const canSave = Boolean(accountId) && (kind !== "reply" || Boolean(original));
  const content = JSON.stringify([chosenAccount, to, cc, bcc, subject, body]);
  const autosave = useAutosave(content, () =>
    canSave ? saver.save(draftBody()).catch(() => undefined) : Promise.resolve(),
  );

  function request(at: string | null): SendRequest {
    const lists = { cc: splitRecipients(cc), bcc: splitRecipients(bcc) };
    if (mode.kind === "reply") {
      return {
        kind: "reply",
        emailId: mode.emailId,
        body: { reply_all: mode.all, body_text: body, send_at: at, ...lists },
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
          send_at: at,
          ...lists,
        },
      };
    }
    return {
      kind: "new",
      body: {
        account_id: accountId,
        to: splitRecipients(to),
        subject,
        body_text: body,
        send_at: at,
        ...lists,
      },
    };
  }

  function idempotencyKey(payload: string): string {
    if (keyRef.current?.payload !== payload) {
      keyRef.current = { payload, key: crypto.randomUUID() };
    }
    return keyRef.current.key;
  }

  async function submit() {
    setFailure(null);
    let at: string | null = null;
    if (scheduling) {
      const checked = checkSendAt(sendAt);
      if (!checked) {
        setFailure("schedule");
        return;
      }
      at = checked.toISOString();
    }
    setBusy(true);
    autosave.cancel();
    try {
      if (kind === "new" || kind === "draft") {
        // New mail goes out as its own draft, so nothing is left behind in Drafts.
        const id = await saver.save(draftBody());
        await sendDraft.mutateAsync({
          draftId: id,
          sendAt: at,
          key: idempotencyKey(JSON.stringify([id, content, at])),
        });
      } else {
        const req = request(at);
        await send.mutateAsync({ request: req, key: idempotencyKey(JSON.stringify(req)) });
        // The reply went out as a message of its own: its autosaved draft is done with.
        await saver.discard().catch(() => undefined);
      }
      announce(at ? t("schedule.done", { date: formatFullDate(at, i18n.language) }) : t("sent"));
      close();
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit();
  }

  function onKeyDown(event: KeyboardEvent) {
    const mod = event.ctrlKey || event.metaKey;
    if (event.key === "Enter" && mod) {
      event.preventDefault();
      void submit();
    } else if (event.key.toLowerCase() === "s" && mod) {
      event.preventDefault();
      void saveNow();
    }
  }

  async function saveNow() {
    autosave.cancel();
    if (canSave) await saver.save(draftBody()).catch(() => undefined);
  }

  function closeKeeping() {
    void autosave.flush();
    close();
  }

  async function discard() {
    autosave.cancel();
    close();
    await saver.discard().catch(() => undefined);
  }

  const invalid =
    failure instanceof ApiError && Array.isArray(failure.details.invalid)
      ? (failure.details.invalid as unknown[]).map(String)
      : [];
  const title =
    kind === "draft"
      ? t("title.draft")
      : mode.kind === "new"
        ? t("title.new")
        : mode.kind === "forward"
          ? t("title.forward")
          : mode.all
            ? t("title.replyAll")
            : t("title.reply");
  const saveText =
    saver.state === "saving"
      ? t("draft.saving")
      : saver.state === "error"
        ? t("draft.failed")
        : saver.state === "saved" && saver.savedAt
          ? t("draft.saved", {
              time: new Intl.DateTimeFormat(i18n.language, { timeStyle: "short" }).format(
                saver.savedAt,
              ),
            })
          : "";

  return (
    <Dialog title={title} onClose={closeKeeping} className="composer">
      <form onSubmit={onSubmit} onKeyDown={onKeyDown}>
        {kind === "new" || kind === "draft" ? (
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
        {kind === "reply" && mode.kind === "reply" ? (
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
        {kind === "new" || kind === "draft" ? (
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
        {kind === "forward" ? (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={includeAttachments}
              onChange={(e) => setIncludeAttachments(e.target.checked)}
            />
            {t("includeAttachments")}
          </label>
        ) : null}
        <div className="compose-schedule">
          <label className="checkbox">
            <input
              type="checkbox"
              checked={scheduling}
              onChange={(e) => setScheduling(e.target.checked)}
            />
            {t("schedule.toggle")}
          </label>
          {scheduling ? (
            <div className="field">
              <label htmlFor={scheduleId}>{t("schedule.at")}</label>
              <input
                id={scheduleId}
                type="datetime-local"
                value={sendAt}
                aria-invalid={failure === "schedule" ? true : undefined}
                onChange={(e) => setSendAt(e.target.value)}
              />
            </div>
          ) : null}
        </div>
        {failure === "schedule" ? <Alert>{t("schedule.invalid")}</Alert> : null}
        {failure && failure !== "schedule" ? (
          <Alert>
            {errorMessage(t, failure)}
            {invalid.length > 0 ? ` ${t("invalid", { list: invalid.join(", ") })}` : null}
          </Alert>
        ) : null}
        <p className="draft-state muted" role="status" aria-live="polite">
          {saveText}
        </p>
        <div className="dialog-actions">
          <Button variant="ghost" onClick={() => void discard()}>
            {t("discard")}
          </Button>
          <Button onClick={() => void saveNow()} disabled={!canSave} title={t("saveShortcut")}>
            {t("save")}
          </Button>
          <Button
            type="submit"
            variant="primary"
            disabled={busy || ((kind === "new" || kind === "draft") && !accountId)}
            title={t("sendShortcut")}
          >
            {busy ? t("sending") : scheduling ? t("schedule.send") : t("send")}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
