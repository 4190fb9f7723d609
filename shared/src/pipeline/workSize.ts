/**
 * The pipeline's working size: frames are resampled so width × height stays at or under this
 * (3.2 MP, e.g. 2048×1536). Clients downscale to it before upload so a 12 MP sweep does not
 * cost its full size in uplink for pixels the server would throw away.
 */
export const WORK_MAX_PIXELS = 3_200_000;
