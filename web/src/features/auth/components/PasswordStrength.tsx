import { useTranslation } from "react-i18next";
import { usePasswordStrength } from "../hooks/usePasswordStrength";

const LABELS = ["veryWeak", "weak", "fair", "good", "strong"] as const;

export function PasswordStrength({
  password,
  userInputs,
}: {
  password: string;
  userInputs: string[];
}) {
  const { t } = useTranslation("auth");
  const strength = usePasswordStrength(password, userInputs);
  if (!strength) return null;
  const label = t(`strength.${LABELS[strength.score]}`);
  return (
    <div className="strength" data-score={strength.score}>
      <meter
        min={0}
        max={4}
        low={2}
        high={3}
        optimum={4}
        value={strength.score}
        aria-label={t("strength.label")}
        aria-valuetext={label}
      />
      <span aria-live="polite">{t("strength.value", { label })}</span>
      {strength.score < 3 ? <p className="field-hint">{t("strength.advice")}</p> : null}
    </div>
  );
}
