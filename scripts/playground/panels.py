"""Each panel used as a person would (clicks, keys, typing), and what it shows held to the API's own answers."""
import json
import math

import numpy as np
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select

from api import page_normals, rope_half, yarn_bands, llama3_bands
from browser import wait_for, wait_panel


def open_tab(driver, panel):
    driver.find_element("id", f"tab-{panel}").click()
    wait_for(lambda: driver.find_element("id", panel).is_displayed(), f"{panel} shown")


def type_into(element, text):
    element.clear()
    element.send_keys(text)


def series(driver, plot_id):
    """The plotted points by series name, read in one script (a redraw cannot interleave)."""
    return json.loads(driver.execute_script(f"""return JSON.stringify(Object.fromEntries([...document.querySelectorAll('#{plot_id} g.series')]
        .map(g => [g.dataset.name, JSON.parse(g.dataset.points)])))"""))


def check_rotation(driver, api):
    open_tab(driver, "rotation")
    wait_panel(driver, "rotation")
    form = driver.find_element("id", "rotation-form")
    slider = form.find_element("name", "position")
    for _ in range(5):
        slider.send_keys(Keys.ARROW_RIGHT)   # 7 → 12, one input event (and one /rotate) per key
    wait_for(lambda: driver.find_element("id", "rotation-position-value").text == "12", "slider at 12")
    wait_panel(driver, "rotation")
    compare_dials(driver, api, head_dim=32, position=12, rope={"rope_type": "default", "rope_theta": 10000, "layout": "half"})

    Select(form.find_element("name", "head_dim")).select_by_visible_text("64")
    Select(form.find_element("name", "rope_type")).select_by_visible_text("yarn")
    wait_for(lambda: form.find_elements("name", "beta_fast"), "YaRN's parameters shown")
    wait_panel(driver, "rotation")
    rope = {"rope_type": "yarn", "rope_theta": 10000, "layout": "half", "factor": 4,
            "original_max_position_embeddings": 2048, "beta_fast": 32, "beta_slow": 1, "truncate": True}
    compare_dials(driver, api, head_dim=64, position=12, rope=rope)
    compare_bands(driver, yarn_bands(64, 10000, 4, 2048))

    Select(form.find_element("name", "rope_type")).select_by_visible_text("llama3")
    wait_for(lambda: form.find_elements("name", "low_freq_factor"), "Llama 3's parameters shown")
    theta = form.find_element("name", "rope_theta")
    type_into(theta, "500000")
    theta.send_keys(Keys.TAB)   # change event
    wait_panel(driver, "rotation")
    wait_for(lambda: len(driver.find_elements("css selector", "#dials .dial")) == 32, "32 dials")
    rope = {"rope_type": "llama3", "rope_theta": 500000, "layout": "half", "factor": 8, "low_freq_factor": 1,
            "high_freq_factor": 4, "original_max_position_embeddings": 8192}
    wait_for(lambda: compare_dials(driver, api, 64, 12, rope, quiet=True), "dials under llama3 θ 500000", 20)
    compare_dials(driver, api, 64, 12, rope)
    compare_bands(driver, llama3_bands(64, 500000, 8, 1, 4, 8192))
    print("  rotation: slider, head_dim, yarn and llama3 (bands from the formulas), dials equal /rotate's angles")


def unit_pairs(head_dim):
    vector = [0.0] * head_dim
    for i in range(head_dim // 2):
        vector[i] = 1.0
    return vector


def compare_dials(driver, api, head_dim, position, rope, quiet=False):
    answer = api.call("/rotate", {"vectors": [unit_pairs(head_dim)], "positions": [position], "rope": rope})
    v = answer["vectors"][0]
    expected = [math.atan2(v[i + head_dim // 2], v[i]) for i in range(head_dim // 2)]
    shown = [float(a) for a in driver.execute_script(
        "return [...document.querySelectorAll('#dials .dial')].map(d => d.dataset.angle)")]
    same = len(shown) == len(expected) and all(abs(a - b) < 1e-6 for a, b in zip(shown, expected))
    if not quiet:
        assert same, f"dials {shown[:4]}… vs /rotate {expected[:4]}…"
    return same


def compare_bands(driver, expected):
    shown = driver.find_element("css selector", "#wavelengths svg").get_attribute("data-bands").split(",")
    assert shown == expected, f"bands shown {shown} vs the formula {expected}"
    counts = {item.get_attribute("data-band"): int(item.get_attribute("data-count"))
              for item in driver.find_elements("css selector", "#band-legend .legend-item")}
    assert counts == {b: expected.count(b) for b in set(expected)}, counts


def check_relative(driver, api):
    open_tab(driver, "relative")
    wait_panel(driver, "relative")
    form = driver.find_element("id", "relative-form")
    type_into(form.find_element("name", "max_distance"), "128")
    type_into(form.find_element("name", "seed"), "5")
    form.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: len(next(iter(series(driver, "relative-plot").values()), [])) == 129, "129 distances")
    wait_panel(driver, "relative")
    q_and_k = page_normals(5, 128)
    q, k = q_and_k[:64], q_and_k[64:]
    m = 300
    reference = [float(rope_half(q, m, 10000) @ rope_half(k, m - r, 10000)) for r in range(129)]
    curves = list(series(driver, "relative-plot").values())
    scale = max(abs(x) for x in reference)
    for curve in curves:
        worst = max(abs(y - reference[int(x)]) for x, y in curve)
        assert worst < 1e-4 * scale + 1e-4, f"q·k against the float64 reference: off by {worst}"
    decay = api.call("/attention/decay", {"head_dim": 64, "rope_theta": 10000, "max_distance": 128, "samples": 256, "seed": 5})
    drawn = series(driver, "decay-plot")
    bound = next(points for name, points in drawn.items() if name.startswith("upper bound"))
    assert [y for _, y in bound] == decay["upper_bound"], "decay bound differs from /attention/decay"
    mean = next(points for name, points in drawn.items() if name.startswith("mean"))
    assert all(abs(y - d / decay["mean_dot"][0]) < 1e-12 for (_, y), d in zip(mean, decay["mean_dot"]))
    print(f"  relative: q·k at m and m + 1000 within {1e-4:g}·max of a float64 RoPE; decay equals /attention/decay")


def check_reading(driver, api, model, text):
    open_tab(driver, "reading")
    wait_panel(driver, "reading")
    form = driver.find_element("id", "reading-form")
    type_into(form.find_element("name", "text"), text)
    form.find_element("css selector", "button[type=submit]").click()
    scored = api.call("/generate", {"prompt": text, "max_tokens": 0, "echo": True, "logprobs": 5, "temperature": 0})
    wanted = len(scored["prompt_tokens"])
    wait_for(lambda: len(driver.find_elements("css selector", "#reading-tokens .token")) == wanted, f"{wanted} token chips")
    wait_panel(driver, "reading")
    chips = driver.find_elements("css selector", "#reading-tokens .token")
    for chip, token in zip(chips, scored["prompt_tokens"]):
        shown = chip.get_attribute("data-logprob")
        assert int(chip.get_attribute("data-id")) == token["id"]
        assert (shown == "" and token["logprob"] is None) or float(shown) == token["logprob"], (shown, token)
    ActionChains(driver).move_to_element(chips[-1]).perform()
    detail = driver.find_element("id", "reading-detail").text
    best = scored["prompt_tokens"][-1]["top_logprobs"][0]["text"].replace(" ", "·")
    assert best in detail, f"the last token's best alternative {best!r} not in {detail!r}"

    layer, head = model["layers"] - 1, model["heads"] - 1
    Select(form.find_element("name", "layer")).select_by_value(str(layer))
    wait_panel(driver, "reading")
    Select(form.find_element("name", "head")).select_by_value(str(head))
    weights = api.call("/attention", {"text": text, "layer": layer, "head": head})["weights"][0]   # [1][seq][seq]
    n = len(weights)
    wait_for(lambda: len(driver.find_elements("css selector", "#attention-map rect.cell")) == n * n, f"{n}×{n} cells")
    q, k = n - 1, n // 2
    cell = driver.find_element("css selector", f'#attention-map rect.cell[data-query="{q}"][data-key="{k}"]')
    wait_for(lambda: abs(float(cell.get_attribute("data-weight")) - weights[q][k]) < 1e-7, "the chosen head's weights")
    ActionChains(driver).move_to_element(cell).perform()
    readout = driver.find_element("id", "attention-readout").text
    assert f"query {q} " in readout and f"key {k} " in readout, readout
    assert abs(float(readout.rsplit("weight ", 1)[1]) - weights[q][k]) < 1e-4, (readout, weights[q][k])
    for cell in driver.find_elements("css selector", "#attention-map rect.cell")[:: max(1, n * n // 40)]:
        qq, kk = int(cell.get_attribute("data-query")), int(cell.get_attribute("data-key"))
        assert abs(float(cell.get_attribute("data-weight")) - weights[qq][kk]) < 1e-7
    # Keyboard: focus the map, move the cursor up from the cell pointed at.
    driver.find_element("css selector", "#attention-map svg").send_keys(Keys.ARROW_UP)
    readout = driver.find_element("id", "attention-readout").text
    assert f"query {q - 1} " in readout and f"key {k} " in readout, readout
    print(f"  reading: {wanted} tokens with /generate's log-probabilities, layer {layer} head {head} = /attention's weights")


def check_generation(driver, api, prompt, seed=7, max_tokens=24):
    open_tab(driver, "generation")
    form = driver.find_element("id", "generation-form")
    type_into(form.find_element("name", "prompt"), prompt)
    type_into(form.find_element("name", "max_tokens"), str(max_tokens))
    type_into(form.find_element("name", "seed"), str(seed))
    form.find_element("css selector", "button[type=submit]").click()
    wait_panel(driver, "generation")
    tokens = driver.find_element("id", "generation-tokens")
    expected = api.call("/generate", {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "top_p": 0.95,
                                      "seed": seed, "logprobs": 5})
    assert tokens.get_attribute("data-text") == expected["text"], (tokens.get_attribute("data-text"), expected["text"])
    chips = tokens.find_elements("css selector", ".token")
    assert [int(c.get_attribute("data-id")) for c in chips] == [t["id"] for t in expected["tokens"]]
    assert tokens.get_attribute("data-finish-reason") == expected["finish_reason"]
    bars = driver.find_elements("css selector", "#generation-alternatives .bars li")
    assert len(bars) == len(expected["tokens"][-1]["top_logprobs"]), "the last step's alternatives"
    print(f"  generation: streamed {len(chips)} tokens = /generate's text (seed {seed}), alternatives shown")


def check_extension(driver, api, model, window):
    open_tab(driver, "extension")
    form = driver.find_element("id", "extension-form")
    type_into(form.find_element("name", "context"), str(window))
    form.find_element("name", "context").send_keys(Keys.TAB)
    factor = float(form.find_element("name", "factor").get_attribute("value"))
    assert abs(factor - max(1, window / model["context_length"])) < 1e-9, factor
    # Record what the progress line says while the scoring runs.
    driver.execute_script("""window.progressSeen = [];
      new MutationObserver(() => window.progressSeen.push(document.getElementById('extension-status').textContent))
        .observe(document.getElementById('extension-status'), {childList: true, characterData: true, subtree: true});""")
    form.find_element("css selector", "button[type=submit]").click()
    wait_panel(driver, "extension", timeout=300)
    seen = driver.execute_script("return window.progressSeen")
    assert any(" of " in line and "windows" in line for line in seen), seen
    text = form.find_element("name", "text").get_attribute("value")
    f = factor
    ropes = [{}, {"rope_type": "linear", "factor": f}, {"rope_type": "dynamic", "factor": f},
             {"rope_type": "yarn", "factor": f, "original_max_position_embeddings": model["context_length"]}]
    expected = api.call("/perplexity", {"text": text, "context": window, "buckets": 16, "rope": ropes})
    cells = driver.find_elements("css selector", "#extension-table td[data-perplexity]")
    shown = [float(c.get_attribute("data-perplexity")) for c in cells]
    wanted = [r["perplexity"] for r in expected["results"]]
    assert len(shown) == 4 and all(abs(a - b) <= 1e-9 * b for a, b in zip(shown, wanted)), (shown, wanted)
    drawn = series(driver, "extension-plot")
    first = expected["results"][0]["nll_by_position"]
    assert list(drawn.values())[0] == [[(b["start"] + b["end"] - 1) / 2, b["mean_nll"]] for b in first if b["count"] > 0]
    marker = driver.find_elements("css selector", "#extension-plot .marker-label")
    assert (window > model["context_length"]) == any("training context" in m.text for m in marker)
    print(f"  extension: windows of {window}, 4 settings, {len(seen)} progress updates; perplexities = /perplexity's "
          f"({', '.join(f'{p:.2f}' for p in shown)})")
    return shown
