import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** The system Chromium (Debian's `chromium` package); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Set HYBRIDDEPTH_SKIP_BROWSER=1 to skip the browser suites on purpose (they never skip silently). */
export const SKIP_BROWSER = process.env.HYBRIDDEPTH_SKIP_BROWSER === "1";
export const SKIP_BROWSER_REASON =
  "HYBRIDDEPTH_SKIP_BROWSER=1: the preview page is not driven in a real browser in this run";

/**
 * Headless Chromium through playwright-core (no bundled browser download). A missing browser
 * is an error that says how to install it, not a skip.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: the preview page test drives a real browser. ` +
        "Install it with `apt-get install -y chromium` (Debian/Ubuntu; .ci/run does this), " +
        "point CHROMIUM_PATH at another Chromium binary, or set HYBRIDDEPTH_SKIP_BROWSER=1 to skip on purpose.",
    );
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ["--no-sandbox", ...extraArgs] });
}

// The Node-side tsconfig has no "dom" lib: what runs in the page is typed by these shapes.
interface CspWindow {
  __csp?: string[];
  document: {
    addEventListener(
      type: "securitypolicyviolation",
      f: (e: { violatedDirective: string; blockedURI: string }) => void,
    ): void;
  };
}

interface StateWindow {
  document: { body: { dataset: { state?: string } } };
}

/** `document.body.dataset.state` of the page (the preview page mirrors the capture state there). */
export function pageState(page: Page): Promise<string> {
  return page.evaluate(
    () => (globalThis as unknown as StateWindow).document.body.dataset.state ?? "",
  );
}

/** Waits until the page's state is one of `states`; returns it. */
export async function waitForPageState(
  page: Page,
  states: readonly string[],
  timeoutMs: number,
): Promise<string> {
  // A function, not a string: a string predicate is eval'd in the page, which its CSP forbids.
  await page.waitForFunction(
    (wanted) =>
      wanted.includes((globalThis as unknown as StateWindow).document.body.dataset.state ?? ""),
    states,
    { timeout: timeoutMs, polling: 100 },
  );
  return pageState(page);
}

export interface PageProblems {
  /** console.error messages, uncaught exceptions, CSP violations and failed requests. */
  all(): string[];
  /** Only the CSP violations (from the `securitypolicyviolation` DOM event). */
  csp(): Promise<string[]>;
}

/**
 * Collects everything that should not happen on a healthy page. CSP violations are caught
 * twice: Chromium reports them on the console, and an init script (injected by the DevTools
 * protocol, which the page's CSP does not govern) records the DOM event.
 */
export async function watchPage(page: Page): Promise<PageProblems> {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console.error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) =>
    problems.push(`requestfailed: ${r.method()} ${r.url()} (${r.failure()?.errorText})`),
  );
  await page.addInitScript(() => {
    const w = globalThis as unknown as CspWindow;
    w.__csp = [];
    w.document.addEventListener("securitypolicyviolation", (e) => {
      w.__csp!.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
    });
  });
  return {
    all: () => [...problems],
    csp: () => page.evaluate(() => (globalThis as unknown as CspWindow).__csp ?? []),
  };
}
