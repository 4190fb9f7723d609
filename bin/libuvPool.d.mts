export function libuvPoolSize(env?: Record<string, string | undefined>): string;
