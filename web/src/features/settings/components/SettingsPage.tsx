import { Suspense, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, Outlet } from "react-router";
import { Alert } from "@/components/ui/Alert";
import { Spinner } from "@/components/ui/Spinner";
import { errorMessage } from "@/lib/errorMessage";
import { LANGUAGES, type Language } from "@/lib/i18n";
import { applyTheme, storedTheme, type Theme } from "@/lib/theme";
import { useUpdateProfile } from "../api/profile";
import { AiSettings } from "./AiSettings";
import { SessionsSettings } from "./SessionsSettings";

export function GeneralSettings() {
  const { t, i18n } = useTranslation("settings");
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const profile = useUpdateProfile();

  // The profile's language wins on the next load (and picks the system mails' language), so the
  // choice is saved there, not only in this browser.
  function changeLanguage(language: Language) {
    void i18n.changeLanguage(language);
    profile.mutate({ language });
  }
  return (
    <>
      <section>
        <h2>{t("general.title")}</h2>
        <fieldset className="choice">
          <legend>{t("theme.label")}</legend>
          {(["light", "dark", "system"] as const).map((value) => (
            <label key={value} className="checkbox">
              <input
                type="radio"
                name="theme"
                value={value}
                checked={theme === value}
                onChange={() => {
                  setTheme(value);
                  applyTheme(value);
                }}
              />
              {t(`theme.${value}`)}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="language">{t("language.label")}</label>
          <select
            id="language"
            value={i18n.resolvedLanguage}
            onChange={(e) => changeLanguage(e.target.value as Language)}
          >
            {LANGUAGES.map((lng) => (
              <option key={lng} value={lng}>
                {t(`language.${lng}`)}
              </option>
            ))}
          </select>
        </div>
        {profile.error ? <Alert>{errorMessage(t, profile.error)}</Alert> : null}
      </section>
      <AiSettings />
      <SessionsSettings />
    </>
  );
}

export function SettingsLayout() {
  const { t } = useTranslation("settings");
  return (
    <div className="page settings">
      <h1>{t("title")}</h1>
      <nav className="tabs" aria-label={t("title")}>
        <NavLink to="/settings" end>
          {t("general.title")}
        </NavLink>
        <NavLink to="/settings/accounts">{t("accounts")}</NavLink>
      </nav>
      <Suspense fallback={<Spinner label={t("common:loading")} />}>
        <Outlet />
      </Suspense>
    </div>
  );
}
