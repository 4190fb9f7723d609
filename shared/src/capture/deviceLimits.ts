/**
 * Bounds of a capture's `device` description (schema.ts checks them): it is metadata, never
 * worth kilobytes. Kept apart from the schema so a browser can trim to them without zod.
 */
export const DEVICE_LIMITS = { text: 256, userAgent: 512, list: 64, note: 300 } as const;
