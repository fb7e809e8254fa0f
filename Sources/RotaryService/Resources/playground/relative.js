// Relative-position panel: q·k of two rotated random vectors against the offset m − n (from /attention's raw
// scores), at two query positions to show the curve does not move, beside /attention/decay's curves.
import { call, latestOnly, isAbort } from "./api.js";
import { linePlot } from "./draw.js";
import { panelState, invalidField } from "./panel.js";

/// Seeded standard normal draws (mulberry32 + Box–Muller): the same vectors for the same seed.
export function normals(seed, count) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = [];
  while (out.length < count) {
    const r = Math.sqrt(-2 * Math.log(uniform())), phi = 2 * Math.PI * uniform();
    out.push(r * Math.cos(phi), r * Math.sin(phi));
  }
  return out.slice(0, count);
}

export function setUpRelative() {
  const panel = panelState("relative");
  const form = document.getElementById("relative-form");
  const run = latestOnly();

  async function scores(query, key, position, distances, rope, signal) {
    const answer = await call("/attention", {
      queries: [query], keys: distances.map(() => key), positions_q: [position],
      positions_k: distances.map((r) => position - r), position_encoding: { type: "rope", ...rope },
      scale: 1, return: ["scores"],
    }, { signal });
    return answer.scores[0];
  }

  async function draw() {
    const invalid = invalidField(form);
    if (invalid) { panel.fail(new Error(invalid)); return; }
    const value = (name) => Number(form.elements[name].value);
    const headDim = value("head_dim"), maxDistance = value("max_distance");
    const position = Math.max(value("query_position"), maxDistance), shifted = position + value("shift");
    const rope = { rope_theta: value("rope_theta") };
    const draws = normals(value("seed"), 2 * headDim);
    const query = draws.slice(0, headDim), key = draws.slice(headDim);
    const distances = Array.from({ length: maxDistance + 1 }, (_, r) => r);
    panel.busy();
    try {
      await run(async (signal) => {
        const [atM, atShifted, decay] = await Promise.all([
          scores(query, key, position, distances, rope, signal),
          scores(query, key, shifted, distances, rope, signal),
          call("/attention/decay", { head_dim: headDim, rope_theta: rope.rope_theta, max_distance: maxDistance, samples: 256, seed: value("seed") }, { signal }),
        ]);
        const plot = linePlot(document.getElementById("relative-plot"), [
          { name: `query at m = ${position}`, points: distances.map((r, i) => [r, atM[i]]) },
          { name: `query at m = ${shifted}`, points: distances.map((r, i) => [r, atShifted[i]]), dashed: true },
        ], { xLabel: "offset m − n", yLabel: "q·k", label: "q·k against the offset" });
        const gap = Math.max(...atM.map((s, i) => Math.abs(s - atShifted[i])));
        const size = Math.max(...atM.map(Math.abs));
        plot.dataset.largestGap = gap.toString();
        document.getElementById("relative-gap").textContent = `Largest difference between the two curves: ${gap.toExponential(2)} `
          + `(float32 rounding; the scores reach ${size.toFixed(2)}): q·k depends on m − n alone.`;
        const atZero = decay.mean_dot[0];
        linePlot(document.getElementById("decay-plot"), [
          { name: "upper bound (RoFormer §3.4.3)", points: decay.distance.map((r, i) => [r, decay.upper_bound[i]]) },
          { name: "mean q·q over 256 draws", points: decay.distance.map((r, i) => [r, decay.mean_dot[i] / atZero]) },
        ], { xLabel: "distance", yLabel: "relative to distance 0", label: "long-term decay" });
      });
      panel.done();
    } catch (error) {
      if (!isAbort(error)) panel.fail(error);
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  for (const control of form.querySelectorAll("select")) control.addEventListener("change", draw);
  return { show: draw };
}
