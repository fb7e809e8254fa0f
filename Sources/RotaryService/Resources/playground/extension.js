// Context-extension panel: one text scored by /perplexity (streamed, with progress) under several RoPE
// settings at once, in windows past the model's training context; NLL by position and a results table.
import { stream, isAbort } from "./api.js";
import { html, linePlot, formatNumber, palette } from "./draw.js";
import { panelState, invalidField } from "./panel.js";
import { sampleText } from "./sample-text.js";

/// The `rope` of each setting for a scaling factor (the model's own RoPE is laid under each).
function ropeOf(setting, factor, model) {
  switch (setting) {
    case "linear": return { rope_type: "linear", factor };
    case "dynamic": return { rope_type: "dynamic", factor };
    case "yarn": return { rope_type: "yarn", factor, original_max_position_embeddings: model.context_length };
    default: return {};
  }
}

const settingNames = { own: "model's own", linear: "linear", dynamic: "dynamic NTK", yarn: "YaRN" };

export function setUpExtension(model) {
  const panel = panelState("extension");
  const form = document.getElementById("extension-form");
  const stop = document.getElementById("extension-stop");
  const progress = document.getElementById("extension-progress");
  const status = document.getElementById("extension-status");
  const defaultWindow = Math.min(model.max_eval_context, 2 * model.context_length);
  form.elements.text.value = sampleText;
  form.elements.context.value = defaultWindow;
  form.elements.context.max = model.max_eval_context;
  form.elements.factor.value = defaultWindow / model.context_length;
  form.elements.context.addEventListener("change", () => {
    form.elements.factor.value = Math.max(1, Number(form.elements.context.value) / model.context_length);
  });
  let controller = null;

  async function compare() {
    const invalid = invalidField(form);
    if (invalid) { panel.fail(new Error(invalid)); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const factor = Number(form.elements.factor.value);
    const settings = [...form.querySelectorAll("input[name=setting]:checked")].map((box) => box.value);
    if (!settings.length) { panel.fail(new Error("choose at least one setting")); return; }
    const body = { text: form.elements.text.value, context: Number(form.elements.context.value),
                   buckets: Number(form.elements.buckets.value), rope: settings.map((s) => ropeOf(s, factor, model)) };
    progress.value = 0;
    status.textContent = "starting…";
    stop.disabled = false;
    panel.busy();
    try {
      await stream("/perplexity", body, (event) => {
        if (event.type === "progress") {
          progress.max = event.windows_total;
          progress.value = event.windows_done;
          status.textContent = `${event.windows_done} of ${event.windows_total} windows, ${event.tokens_per_second.toFixed(0)} tokens/s, `
            + `${event.eta_seconds.toFixed(1)} s left`;
        } else if (event.type === "result") {
          status.textContent = `${event.windows} windows of ${event.context} tokens (stride ${event.stride}), ${event.tokens} tokens in all, `
            + `${event.timings.seconds.toFixed(1)} s`;
          show(event, settings);
        }
      }, { signal: controller.signal });
      panel.done();
    } catch (error) {
      if (isAbort(error)) { status.textContent = "stopped"; panel.done(); } else panel.fail(error);
    } finally {
      stop.disabled = true;
      controller = null;
    }
  }

  function show(result, settings) {
    const series = result.results.map((r, i) => ({
      name: settingNames[settings[i]],
      points: r.nll_by_position.filter((b) => b.count > 0).map((b) => [(b.start + b.end - 1) / 2, b.mean_nll]),
      color: palette[i],
    }));
    const plot = linePlot(document.getElementById("extension-plot"), series, {
      xLabel: "position in the window", yLabel: "mean NLL (nats)", legend: true, label: "NLL by position",
      markers: result.context > result.n_ctx ? [{ x: result.n_ctx, label: `training context ${result.n_ctx}` }] : [],
    });
    plot.dataset.settings = settings.join(",");
    const table = html("table", { class: "results" });
    const head = html("tr", {}, null, html("thead", {}, null, table));
    for (const title of ["setting", "rope", "perplexity", "bits/byte", "tokens scored"]) html("th", { scope: "col" }, title, head);
    const bodyRows = html("tbody", {}, null, table);
    result.results.forEach((r, i) => {
      const row = html("tr", { "data-setting": settings[i] }, null, bodyRows);
      const name = html("th", { scope: "row" }, null, row);
      const swatch = html("span", { class: "swatch" }, null, name);
      swatch.style.borderColor = palette[i];
      name.append(settingNames[settings[i]]);
      html("td", {}, describeRope(r.rope), row);
      html("td", { class: "number", "data-perplexity": r.perplexity }, formatNumber(r.perplexity), row);
      html("td", { class: "number" }, r.bits_per_byte.toFixed(3), row);
      html("td", { class: "number" }, `${r.tokens_scored}`, row);
    });
    document.getElementById("extension-table").replaceChildren(table);
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); compare(); });
  stop.addEventListener("click", () => controller && controller.abort());
  return { show: () => {} };
}

function describeRope(rope) {
  const parts = [rope.rope_type, `θ ${rope.rope_theta}`];
  if (rope.factor) parts.push(`×${formatNumber(rope.factor)}`);
  return parts.join(" ");
}
