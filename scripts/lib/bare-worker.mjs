// The baseline for scripts/bench: the smallest possible Worker, on the same runtime, so the
// figures for fieldworker's endpoints can be read as ratios that hold across machines.
export default {
  fetch() {
    return new Response('{"status":"ok"}', { headers: { "Content-Type": "application/json" } });
  },
};
