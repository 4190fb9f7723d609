/** What the HTTP side knows about the service's lifecycle. */
export interface ServiceState {
  /** Models loaded and warmed up. */
  ready: boolean;
  /** SIGTERM received: finishing in-flight jobs, taking no new ones. */
  draining: boolean;
  model: string | null;
  /** sha256 of the prior's weights. */
  modelSha256: string | null;
  provider: string | null;
}
