/**
 * A stand-in for the GPU service, run by miniflare as the GPU_SERVICE service binding (Node
 * side). A job whose first frame file starts with `fail<N>-` is answered 503 N times, then
 * fuses. `GET /calls` reports how many fuse calls each job made.
 */
const calls = new Map<string, number>();

export async function gpuServiceStub(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/calls") return Response.json(Object.fromEntries(calls));
  if (url.pathname !== "/v1/fuse" || request.method !== "POST")
    return new Response("not found", { status: 404 });
  if (!request.headers.get("x-hd-signature")?.startsWith("v2="))
    return Response.json({ error: { code: "unauthorized", message: "unsigned" } }, { status: 401 });
  const job = (await request.json()) as {
    jobId: string;
    capture: { frames: { file: string }[] };
    frames: { url: string }[];
  };
  const n = (calls.get(job.jobId) ?? 0) + 1;
  calls.set(job.jobId, n);
  const fails = Number(/^fail(\d+)-/.exec(job.capture.frames[0]!.file)?.[1] ?? 0);
  if (n <= fails)
    return Response.json(
      { error: { code: "overloaded", message: "busy" } },
      { status: 503, headers: { "retry-after": "1" } },
    );
  if (job.capture.frames[0]!.file.startsWith("reject-"))
    return Response.json(
      { error: { code: "frame_unreadable", message: "frame 0 (reject-a.jpg): cannot decode" } },
      { status: 422 },
    );
  const w = 4;
  const h = 2;
  const depth = new Float32Array(w * h).map((_, i) => 1 + i / 10);
  const form = new FormData();
  form.append(
    "result",
    new Blob([JSON.stringify({ stage: "full", width: w, height: h, timingsMs: { total: 12 } })], {
      type: "application/json",
    }),
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
