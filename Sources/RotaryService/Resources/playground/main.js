// The playground's start: tabs, the model card (/v1/models, then /v1/model), the API-key prompt, the panels.
import { call, apiKey, setApiKey, onUnauthorized } from "./api.js";
import { explainNoModel } from "./panel.js";
import { setUpRotation } from "./rotation.js";
import { setUpRelative } from "./relative.js";
import { setUpReading } from "./reading.js";
import { setUpGeneration } from "./generation.js";
import { setUpExtension } from "./extension.js";

const panels = {};
const modelPanels = ["reading", "generation", "extension"];

function selectTab(id, focus = false) {
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const selected = tab.getAttribute("aria-controls") === id;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
    if (selected && focus) tab.focus();
  }
  if (location.hash !== "#" + id) history.replaceState(null, "", "#" + id);
  if (panels[id]) panels[id].show();
}

function setUpTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => selectTab(tab.getAttribute("aria-controls")));
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the panel.
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      selectTab(next.getAttribute("aria-controls"), true);
      event.preventDefault();
    });
  });
}

function describeModel(model) {
  const rope = model.rope || {};
  const scaling = rope.rope_type && rope.rope_type !== "default" ? `${rope.rope_type}${rope.factor ? " ×" + rope.factor : ""}, ` : "";
  return `${model.id} — ${model.architecture}, ${(model.parameters / 1e6).toFixed(1)}M parameters, ${model.layers} layers × ${model.heads} heads `
    + `(head_dim ${model.head_dim}), context ${model.context_length}; RoPE ${scaling}θ = ${rope.rope_theta}, ${rope.layout} pairs`;
}

/// Asks which model is loaded without asking a route that answers 503 when none is (/v1/models lists none).
async function loadModel(card) {
  const list = await call("/v1/models");
  if (!list.data.length) return null;
  try {
    const model = await call("/v1/model");
    card.textContent = describeModel(model);
    card.dataset.model = model.id;
    return model;
  } catch (error) {
    if (error.status === 503) return null;   // a vocabulary-only file: listed, but no weights to run
    throw error;
  }
}

async function start() {
  const card = document.getElementById("model-card");
  const keyForm = document.getElementById("key-form");
  let model;
  try {
    model = await loadModel(card);
  } catch (error) {
    if (error.status === 401) return;   // the key prompt is showing; start() runs again with the key
    card.textContent = `The server did not say which model it serves: ${error.message}`;
    return;
  }
  keyForm.hidden = true;
  panels.rotation = setUpRotation();
  panels.relative = setUpRelative();
  if (model) {
    panels.reading = setUpReading(model);
    panels.generation = setUpGeneration(model);
    panels.extension = setUpExtension(model);
  } else {
    card.textContent = "No model is loaded: the Rotation and Relative position panels work; the model panels need one.";
    card.dataset.model = "";
    for (const id of modelPanels) {
      explainNoModel(id, "This server runs without a model, so there is nothing to read, generate or score. "
        + "Start it with `rotary serve` (the shipped model) or `rotary serve --model FILE.gguf`.");
    }
  }
  document.body.dataset.ready = "true";
  const wanted = location.hash.slice(1);
  selectTab(document.getElementById(wanted) && document.getElementById(wanted).classList.contains("panel") ? wanted : "rotation");
}

function setUpKeyPrompt() {
  const keyForm = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  onUnauthorized(() => {
    keyForm.hidden = false;
    document.getElementById("model-card").textContent = apiKey() ? "That key was refused; enter the server's --api-key." : "Enter the API key to use this server.";
    input.focus();
  });
  keyForm.addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    input.value = "";
    if (document.body.dataset.ready !== "true") start();
    else keyForm.hidden = true;
  });
}

setUpTabs();
setUpKeyPrompt();
start();
