/** Part of every result's content address: bump it whenever outputs would change. */
export const PIPELINE_VERSION = "0.3.8";
