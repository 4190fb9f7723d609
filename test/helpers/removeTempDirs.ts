// Every Node test file removes the temporary folders its tests made (fixtures.ts `tempDir`), after
// its own afterAll hooks (vitest runs after-hooks in reverse order: this one, registered first, last).
import { afterAll } from "vitest";
import { removeTempDirs } from "../../gpu-service/src/testing/fixtures.ts";

afterAll(removeTempDirs);
