/** The pages' API key field, remembered in localStorage (the key both pages share). */
const KEY_STORE = "hybriddepth.apiKey";

export function rememberApiKey(input: HTMLInputElement): void {
  try {
    input.value = localStorage.getItem(KEY_STORE) ?? "";
  } catch {
    // Private modes may refuse storage: the field still works for this visit.
  }
  input.addEventListener("input", () => {
    try {
      localStorage.setItem(KEY_STORE, input.value.trim());
    } catch {}
  });
}
