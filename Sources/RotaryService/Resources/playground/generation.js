// Generation panel: /generate streamed token by token, each token a chip with the model's alternatives.
import { stream, isAbort } from "./api.js";
import { panelState, invalidField } from "./panel.js";
import { surpriseKey } from "./draw.js";
import { tokenChip } from "./tokens.js";

export function setUpGeneration() {
  const panel = panelState("generation");
  const form = document.getElementById("generation-form");
  const stop = document.getElementById("generation-stop");
  const tokens = document.getElementById("generation-tokens");
  const status = document.getElementById("generation-status");
  const alternatives = document.getElementById("generation-alternatives");
  let controller = null;
  surpriseKey(document.getElementById("generation-key"));

  async function generate() {
    const invalid = invalidField(form);
    if (invalid) { panel.fail(new Error(invalid)); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    const value = (name) => Number(form.elements[name].value);
    const body = { prompt: form.elements.prompt.value, max_tokens: value("max_tokens"), temperature: value("temperature"),
                   top_p: value("top_p"), seed: value("seed"), logprobs: 5 };
    document.getElementById("generation-prompt").textContent = body.prompt;
    tokens.replaceChildren();
    tokens.dataset.text = "";
    alternatives.replaceChildren();
    status.textContent = "generating…";
    stop.disabled = false;
    panel.busy();
    const started = performance.now();
    let count = 0;
    try {
      await stream("/generate", body, (event) => {
        if (event.token) {
          const chip = tokenChip(event.token, count, (content) => alternatives.replaceChildren(content));
          tokens.appendChild(chip);
          chip.dispatchEvent(new Event("click"));
          count += 1;
          status.textContent = `${count} tokens…`;
        }
        // The released text, not the token's: text that could begin a stop sequence arrives later (or never).
        if (event.text !== undefined) tokens.dataset.text += event.text;
        if (event.finish_reason) {
          const seconds = (performance.now() - started) / 1000;
          status.textContent = `finish_reason ${event.finish_reason}: ${event.usage.completion_tokens} tokens after a prompt of `
            + `${event.usage.prompt_tokens}, ${(event.usage.completion_tokens / seconds).toFixed(1)} tokens/s as this page received them`;
          tokens.dataset.finishReason = event.finish_reason;
        }
      }, { signal: controller.signal });
      panel.done();
    } catch (error) {
      if (isAbort(error)) {
        status.textContent = `stopped after ${count} tokens`;
        panel.done();
      } else {
        panel.fail(error);
      }
    } finally {
      stop.disabled = true;
      controller = null;
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); generate(); });
  stop.addEventListener("click", () => controller && controller.abort());
  return { show: () => {} };
}
