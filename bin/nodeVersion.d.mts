/** Whether `version` meets `range`: space-separated `>=X.Y.Z` and `<X.Y.Z` terms, all of them. */
export function satisfies(version: string, range: string): boolean;
/** Exits with a one-line message when this Node is outside package.json's `engines.node`. */
export function requireSupportedNode(name: string): void;
