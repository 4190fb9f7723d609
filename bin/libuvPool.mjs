// Sizes libuv's threadpool before anything starts it (it starts on first use, at the size
// UV_THREADPOOL_SIZE says then; an operator's value is kept). It is one pool for the whole
// process, and sharp runs every decode and encode on it: the frame pool's threads all hand their
// frames to it, so a pool of more threads than libuv's default 4 has frames waiting for a libuv
// thread (on 2 cores, a frame pool of 2 on a libuv pool of 1: the 12 MP stack's decode stage
// took 382–385 ms against 316–341 ms on 4). At least as many as the frame pool, never fewer than 4.
import { availableParallelism } from "node:os";

/** UV_THREADPOOL_SIZE for `env`: its own value, else max(4, HYBRIDDEPTH_THREADS or the cores). */
export function libuvPoolSize(env = process.env) {
  if (env.UV_THREADPOOL_SIZE) return env.UV_THREADPOOL_SIZE;
  const asked = Number(env.HYBRIDDEPTH_THREADS);
  const threads = Number.isInteger(asked) && asked >= 1 ? asked : availableParallelism();
  return String(Math.max(4, threads));
}

process.env.UV_THREADPOOL_SIZE = libuvPoolSize();
