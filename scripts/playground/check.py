"""The playground at `/`, driven in headless Chromium against live servers (`make test`).

Usage: check.py ROTARY_BINARY TINY_MODEL.gguf [--screenshots DIR]

1. The files themselves: types, ETag/304, the Content-Security-Policy, no other origin named, and every path
   outside the set (`..`, `%2e%2e`, missing names) a JSON 404.
2. The shipped model: every panel used (slider, rope_type, a text, a generation, a perplexity comparison) and
   what it shows checked against the API's own answers or a float64 reference; no console errors; no
   horizontal scrolling at phone width; screenshots at 1280×800 with --screenshots.
3. The tiny fixture model: the model panels again.
4. `--model none`: the model panels say why they are empty, the RoPE panels work.
5. `--api-key` and `--cors-origin`: the page loads without the key, asks for it, then works.
"""
import argparse
import http.client
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))

from api import Api   # noqa: E402
from browser import chromium, console_errors, viewport, wait_for, wait_panel   # noqa: E402
from panels import check_extension, check_generation, check_reading, check_relative, check_rotation, open_tab   # noqa: E402
from rotary_server import served   # noqa: E402

PANELS = ["rotation", "relative", "reading", "generation", "extension"]
READ_TEXT = "And God said, Let there be light: and there was light. And God saw the light, that it was good."


def raw_get(port, path, headers=None, method="GET"):
    """A request with the path exactly as given (no client-side normalization of `..`)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def check_files(port):
    status, headers, page = raw_get(port, "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8", (status, headers)
    policy = headers["content-security-policy"]
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]:
        assert directive in policy, policy
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-cache"
    status, again, body = raw_get(port, "/", {"If-None-Match": headers["etag"]})
    assert status == 304 and body == b"" and again["etag"] == headers["etag"], status
    status, _, body = raw_get(port, "/", method="HEAD")
    assert status == 200 and body == b""
    referenced = re.findall(r'(?:src|href)="(/playground/[^"]+)"', page.decode())
    scripts = set(referenced)
    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    pending = list(scripts)
    while pending:   # the modules the page imports, transitively
        path = pending.pop()
        status, headers, body = raw_get(port, path)
        assert status == 200, (path, status)
        assert headers["content-type"] == types[os.path.splitext(path)[1]], (path, headers["content-type"])
        assert "content-security-policy" in headers and "etag" in headers
        text = body.decode()
        outside = [url for url in re.findall(r"https?://[^\s\"'`)]+", text) if not url.startswith("http://www.w3.org/2000/svg")]
        assert not outside, f"{path} names another origin: {outside}"
        for name in re.findall(r'from "\./([^"]+)"', text):
            if f"/playground/{name}" not in scripts:
                scripts.add(f"/playground/{name}")
                pending.append(f"/playground/{name}")
    bad = ["/playground/../openapi.yaml", "/playground/%2e%2e/openapi.yaml", "/playground/..%2fopenapi.yaml",
           "/playground/nothing.js", "/playground/", "/playground", "/playground//main.js", "/playground/main.js/",
           "/playground/./main.js", "/index.html", "/playground/index.html", "/playground/main.js%00",
           "/../../etc/passwd", "/playground/../../Package.swift"]
    for path in bad:
        status, headers, body = raw_get(port, path)
        assert status in (400, 404) and headers["content-type"] == "application/json", (path, status)
        assert json.loads(body)["error"]["code"] == status, (path, body[:200])
    print(f"  files: / and {len(scripts)} files with types, ETag/304 and the CSP; {len(bad)} paths outside them answer 404")
    return scripts


def check_rope_table():
    """rope-form.js's table of rope_type parameters against openapi.yaml: the same types, names the schema has."""
    import yaml
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    spec = yaml.safe_load(open(os.path.join(root, "openapi.yaml")))
    schema = spec["components"]["schemas"]["RopeParameters"]["properties"]
    source = open(os.path.join(root, "Sources/RotaryService/Resources/playground/rope-form.js")).read()
    table = source[source.index("export const ropeTypes"):source.index("};")]
    types = re.findall(r"^\s*(\w+): \[", table, re.M)
    assert types == schema["rope_type"]["enum"], (types, schema["rope_type"]["enum"])
    names = set(re.findall(r'\["(\w+)", "', table))
    assert names <= set(schema), names - set(schema)
    print(f"  rope-form.js: the {len(types)} rope_types of openapi.yaml, {len(names)} parameter names all in RopeParameters")


def load(driver, port, hash_=""):
    driver.get(f"http://127.0.0.1:{port}/{hash_}")
    wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "the page's start")


def shoot(driver, directory, name):
    if directory:
        driver.execute_script("window.scrollTo(0, 0); document.activeElement && document.activeElement.blur()")
        driver.save_screenshot(os.path.join(directory, f"{name}.png"))


def phone_width(driver):
    viewport(driver, 390, 844, mobile=True)
    try:
        for panel in PANELS:
            open_tab(driver, panel)
            width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1] + 1, f"{panel} scrolls sideways at phone width: {width}"
    finally:
        viewport(driver, 1280, 800)
    print("  phone width (390 px): no panel scrolls sideways")


def keyboard(driver):
    tab = driver.find_element("id", "tab-rotation")
    tab.click()
    tab.send_keys("\ue014")   # ArrowRight
    assert driver.find_element("id", "tab-relative").get_attribute("aria-selected") == "true"
    assert driver.switch_to.active_element.get_attribute("id") == "tab-relative"
    unlabeled = driver.execute_script("""return [...document.querySelectorAll('input, select, textarea')]
        .filter(c => !c.closest('label') && !c.labels?.length && !c.getAttribute('aria-label')).map(c => c.name || c.id)""")
    assert not unlabeled, f"controls without a label: {unlabeled}"
    print("  keyboard: arrow keys move between tabs; every control has a label")


def shipped_model(binary, screenshots):
    with served(binary) as port:
        api = Api(port)
        check_files(port)
        model = api.call("/v1/model")
        with chromium() as driver:
            load(driver, port)
            assert model["id"] in driver.find_element("id", "model-card").text
            check_rotation(driver, api)
            shoot(driver, screenshots, "rotation")
            check_relative(driver, api)
            shoot(driver, screenshots, "relative")
            check_reading(driver, api, model, READ_TEXT)
            shoot(driver, screenshots, "reading")
            check_generation(driver, api, "And God said, Let there be", max_tokens=40)
            shoot(driver, screenshots, "generation")
            check_extension(driver, api, model, window=4 * model["context_length"])
            shoot(driver, screenshots, "extension")
            keyboard(driver)
            phone_width(driver)
            if screenshots:
                viewport(driver, 390, 844, mobile=True)
                open_tab(driver, "reading")
                shoot(driver, screenshots, "phone-reading")
                viewport(driver, 1280, 800)
            errors = console_errors(driver)
            assert not errors, errors
    print("  shipped model: no console errors")


def tiny_model(binary, tiny):
    with served(binary, tiny) as port:
        api = Api(port)
        model = api.call("/v1/model")
        with chromium() as driver:
            load(driver, port, "#reading")
            check_reading(driver, api, model, "Hello world, hello rotary.")
            check_generation(driver, api, "Hello", max_tokens=8)
            check_extension(driver, api, model, window=min(model["max_eval_context"], 2 * model["context_length"]))
            errors = console_errors(driver)
            assert not errors, errors
    print(f"  tiny fixture ({model['id']}): the model panels work, no console errors")


def no_model(binary):
    with served(binary, "none") as port:
        api = Api(port)
        with chromium() as driver:
            load(driver, port)
            assert "No model" in driver.find_element("id", "model-card").text
            for panel in ["reading", "generation", "extension"]:
                open_tab(driver, panel)
                section = driver.find_element("id", panel)
                assert section.get_attribute("data-state") == "no-model"
                assert "without a model" in section.find_element("css selector", ".no-model").text
                assert all(not b.is_enabled() for b in section.find_elements("css selector", "button"))
            check_relative(driver, api)
            open_tab(driver, "rotation")
            assert wait_panel(driver, "rotation") == "done"
            errors = console_errors(driver)
            assert not errors, errors
    print("  no model: the model panels explain why they are empty, the RoPE panels work, no console errors")


def with_key(binary):
    key, origin = "playground-secret", "http://tools.example"
    with served(binary, "none", ["--api-key", key, "--cors-origin", origin]) as port:
        status, headers, _ = raw_get(port, "/")
        assert status == 200 and headers.get("access-control-allow-origin") == origin, headers
        assert raw_get(port, "/v1/models")[0] == 401
        with chromium() as driver:
            driver.get(f"http://127.0.0.1:{port}/")
            form = driver.find_element("id", "key-form")
            wait_for(form.is_displayed, "the key prompt")
            field = driver.find_element("id", "api-key")
            field.send_keys("wrong")
            form.find_element("css selector", "button").click()
            wait_for(lambda: "refused" in driver.find_element("id", "model-card").text, "the wrong key refused")
            field.send_keys(key)
            form.find_element("css selector", "button").click()
            wait_for(lambda: driver.execute_script("return document.body.dataset.ready === 'true'"), "start with the key")
            assert wait_panel(driver, "rotation") == "done"
            assert driver.execute_script("return sessionStorage.getItem('rotary.apiKey')") == key
            assert not driver.execute_script("return localStorage.length"), "the key left the tab"
            errors = console_errors(driver, allowed=["401"])
            assert not errors, errors
    print("  --api-key: the page loads without it, asks, refuses a wrong key, works with the right one (kept in the tab)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("tiny")
    parser.add_argument("--screenshots")
    args = parser.parse_args()
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    print("playground:")
    check_rope_table()
    shipped_model(args.binary, args.screenshots)
    tiny_model(args.binary, args.tiny)
    no_model(args.binary)
    with_key(args.binary)
    print("playground: ok")


if __name__ == "__main__":
    main()
