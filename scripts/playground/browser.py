"""Headless Chromium for the playground check: a driver, waits, console errors, viewports."""
import contextlib
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


@contextlib.contextmanager
def chromium():
    options = Options()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,800", "--no-first-run", "--disable-extensions"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(60)
    try:
        viewport(driver, 1280, 800)
        yield driver
    finally:
        driver.quit()


def viewport(driver, width, height, mobile=False):
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def panel_state(driver, panel):
    return driver.find_element("id", panel).get_attribute("data-state")


def wait_panel(driver, panel, timeout=120.0):
    """Waits until the panel is no longer busy; fails on its error line."""
    state = wait_for(lambda: (s := panel_state(driver, panel)) not in ("busy", "idle") and s, f"panel {panel}", timeout)
    if state == "error":
        raise AssertionError(f"panel {panel}: {driver.find_element('css selector', f'#{panel} .error').text}")
    return state


def console_errors(driver, allowed=()):
    """SEVERE console entries, less those containing one of `allowed`."""
    return [entry for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in allowed)]
