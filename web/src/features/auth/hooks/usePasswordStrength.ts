/**
 * Password strength from zxcvbn-ts (English and German dictionaries), loaded on first use so
 * the dictionaries stay out of the initial bundle. Score 0–4; the server has the final word
 * (VAL005), this is the meter.
 */
import { useEffect, useState } from "react";

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  warning: string;
  suggestions: string[];
}

type Checker = (password: string, userInputs: string[]) => Strength;
let checker: Promise<Checker> | null = null;

function loadChecker(): Promise<Checker> {
  checker ??= Promise.all([
    import("@zxcvbn-ts/core"),
    import("@zxcvbn-ts/language-common"),
    import("@zxcvbn-ts/language-en"),
    import("@zxcvbn-ts/language-de"),
  ]).then(([core, common, en, de]) => {
    const zxcvbn = new core.ZxcvbnFactory({
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary, ...de.dictionary },
      translations: en.translations,
    });
    return (password, userInputs) => {
      const result = zxcvbn.check(password, userInputs);
      return {
        score: result.score,
        warning: result.feedback.warning ?? "",
        suggestions: result.feedback.suggestions,
      };
    };
  });
  return checker;
}

export function usePasswordStrength(password: string, userInputs: string[]): Strength | null {
  const [strength, setStrength] = useState<Strength | null>(null);
  const inputs = userInputs.join("\n");
  useEffect(() => {
    if (!password) return;
    let current = true;
    void loadChecker().then((check) => {
      if (current) setStrength(check(password, inputs.split("\n").filter(Boolean)));
    });
    return () => {
      current = false;
    };
  }, [password, inputs]);
  return password ? strength : null;
}
