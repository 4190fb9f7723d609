/**
 * `npm run gpu-service`: the GPU service process. Config from the environment (config.ts);
 * SIGTERM/SIGINT stop it gracefully (in-flight jobs finish, then exit 0).
 */
import pino from "pino";
import { loadConfig } from "./config.ts";
import { startService } from "./service.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (e) {
  process.stderr.write(`gpu-service: ${(e as Error).message}\n`);
  process.exit(2);
}
const logger = pino({ level: config.LOG_LEVEL });
let service: Awaited<ReturnType<typeof startService>>;
try {
  service = await startService(config, logger);
} catch (e) {
  process.stderr.write(`gpu-service: ${(e as Error).message}\n`);
  process.exit(2);
}
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "draining");
    service.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  });
}
