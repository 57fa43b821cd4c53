import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { buildSrcDoc } from "./srcdoc";

/** A mail's HTML in a sandboxed frame: no scripts, no same-origin access, links open outside. */
export function MailBody({
  html,
  title,
  showImages,
  inlineImages,
}: {
  html: string;
  title: string;
  showImages: boolean;
  inlineImages?: ReadonlyMap<string, string>;
}) {
  const { t } = useTranslation("mail");
  const srcDoc = useMemo(
    () => buildSrcDoc(html, { showImages, inlineImages }),
    [html, showImages, inlineImages],
  );
  return (
    <iframe
      className="mail-frame"
      title={t("reader.bodyTitle", { subject: title })}
      sandbox="allow-popups"
      referrerPolicy="no-referrer"
      srcDoc={srcDoc}
    />
  );
}
