/**
 * A stand-in for the GPU service, run by miniflare as the GPU_SERVICE service binding (Node
 * side). A job whose first frame file starts with `fail<N>-` is answered 503 N times, then
 * fuses; one starting with `slow<ms>-` is answered after that many ms. `GET /calls` reports how many fuse calls each capture made (`GET /job-ids`: their job ids); `POST /prior?model=` swaps
 * the prior it reports (none: it falls back to depth from focus).
 */
import { captureIdOfJobId } from "#shared/service/fuseJob.ts";

const calls = new Map<string, number>();
/** The job ids each capture's fuse calls carried, in order. */
const jobIds = new Map<string, string[]>();
let prior: string | null = "pydnet-pp";

export async function gpuServiceStub(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/calls") return Response.json(Object.fromEntries(calls));
  if (url.pathname === "/job-ids") return Response.json(Object.fromEntries(jobIds));
  // The prior the stub "runs": tests deploy another with POST /prior?model=<name>.
  if (url.pathname === "/prior" && request.method === "POST") {
    prior = url.searchParams.get("model") || null;
    return Response.json({ prior });
  }
  // Signed, as the real service requires (an unsigned lookup would read as "no prior").
  if (url.pathname === "/v2/models/hybriddepth" && request.headers.get("x-hd-signature"))
    return Response.json({ name: "hybriddepth", prior: { model: prior, provider: "cpu" } });
  if (url.pathname !== "/v1/fuse" || request.method !== "POST")
    return new Response("not found", { status: 404 });
  if (!request.headers.get("x-hd-signature")?.startsWith("v2="))
    return Response.json({ error: { code: "unauthorized", message: "unsigned" } }, { status: 401 });
  const job = (await request.json()) as {
    jobId: string;
    capture: { frames: { file: string }[] };
    frames: { url: string }[];
    options: { stage: string };
  };
  // Counted per capture (the job id names its generation and address too).
  const captureId = captureIdOfJobId(job.jobId);
  const n = (calls.get(captureId) ?? 0) + 1;
  calls.set(captureId, n);
  jobIds.set(captureId, [...(jobIds.get(captureId) ?? []), job.jobId]);
  const fails = Number(/^fail(\d+)-/.exec(job.capture.frames[0]!.file)?.[1] ?? 0);
  if (n <= fails)
    return Response.json(
      { error: { code: "overloaded", message: "busy" } },
      { status: 503, headers: { "retry-after": "1" } },
    );
  // slow<ms>-: the answer takes that long (a job still in flight while the test acts).
  const slow = Number(/^slow(\d+)-/.exec(job.capture.frames[0]!.file)?.[1] ?? 0);
  if (slow) await new Promise((r) => setTimeout(r, slow));
  // `hang-`: the first call never answers in time (the edge's GPU_TIMEOUT_SECONDS is 1 in tests).
  if (n === 1 && job.capture.frames[0]!.file.startsWith("hang-"))
    await new Promise((r) => setTimeout(r, 8000));
  if (job.capture.frames[0]!.file.startsWith("reject-"))
    return Response.json(
      { error: { code: "frame_unreadable", message: "frame 0 (reject-a.jpg): cannot decode" } },
      { status: 422 },
    );
  // Without a prior the service falls back to depth from focus, as the real one does.
  const stage = prior === null && job.options.stage !== "dff" ? "dff" : job.options.stage;
  const w = 4;
  const h = 2;
  const depth = new Float32Array(w * h).map((_, i) => 1 + i / 10);
  // inf-: a depth with +Infinity in it (what unbounded focus distances once produced).
  if (job.capture.frames[0]!.file.startsWith("inf-")) depth[3] = Number.POSITIVE_INFINITY;
  const form = new FormData();
  form.append(
    "result",
    new Blob(
      [
        JSON.stringify({
          stage,
          requestedStage: job.options.stage,
          model: prior,
          width: w,
          height: h,
          timingsMs: { total: 12 },
        }),
      ],
      {
        type: "application/json",
      },
    ),
    "result",
  );
  form.append("depth", new Blob([new Uint8Array(depth.buffer)]), "depth");
  form.append(
    "depth_png",
    new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" }),
    "depth_png",
  );
  form.append(
    "preview",
    new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1])], { type: "image/png" }),
    "preview",
  );
  form.append("confidence", new Blob([new Uint8Array(w * h).fill(200)]), "confidence");
  return new Response(form);
}
