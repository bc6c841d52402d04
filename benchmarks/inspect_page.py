"""Size of an `rnnkit inspect` page and its time to open in a real browser.

    PYTHONPATH=src python benchmarks/inspect_page.py PAGE.html [--repeats 5]
        [--screenshot docs/inspect.png --unit U --kind c --hover N]

Opens PAGE in Debian's headless Chromium (/usr/bin/chromium through chromedriver and Selenium,
a fresh browser each repeat, so nothing is cached) and reads the page's own performance marks:
`rnnkit:data` (HTML parsed, data decoded and inflated), `rnnkit:text` (the text laid out) and
`ready` (units ranked, the first unit coloured and traced), each in ms since navigation start.
--screenshot also picks a unit and hovers token N for the picture.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains


def browser(width: int = 1400, height: int = 900):
    opts = Options()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def open_page(driver, path: Path) -> dict[str, float]:
    driver.get(path.resolve().as_uri())
    end = time.monotonic() + 120
    while not driver.execute_script("return document.body.dataset.ready === '1'"):
        if time.monotonic() > end:
            raise SystemExit(f"{path} did not get ready in 120 s")
        time.sleep(0.02)
    marks = driver.execute_script(
        "return Object.fromEntries(performance.getEntriesByType('mark')"
        ".map(m => [m.name, m.startTime]))")
    marks["ready"] = driver.execute_script("return window.rnnkitViewer.readyMs")
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        raise SystemExit(f"console errors: {errors}")
    return marks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page", type=Path)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--screenshot", type=Path, default=None)
    p.add_argument("--unit", type=int, default=None)
    p.add_argument("--kind", default=None)
    p.add_argument("--hover", type=int, default=0)
    args = p.parse_args()
    size = args.page.stat().st_size
    runs = []
    for _ in range(args.repeats):
        driver = browser()
        try:
            runs.append(open_page(driver, args.page))
        finally:
            driver.quit()
    print(f"{args.page}: {size / 1e6:.2f} MB; load {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; {args.repeats} fresh browser(s)")
    for name in ("rnnkit:data", "rnnkit:text", "ready"):
        values = sorted(r[name] for r in runs)
        print(f"  {name:<12} median {statistics.median(values):7.0f} ms, best "
              f"{values[0]:7.0f} ms, worst {values[-1]:7.0f} ms")
    if args.screenshot:
        driver = browser(1300, 760)
        try:
            open_page(driver, args.page)
            if args.unit is not None:
                kind = args.kind or driver.execute_script("return document.body.dataset.kind")
                driver.execute_script(f"window.rnnkitViewer.select('{kind}', {args.unit})")
            span = driver.find_element("css selector", f'#text span[data-i="{args.hover}"]')
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", span)
            ActionChains(driver).move_to_element(span).perform()
            time.sleep(0.3)
            driver.save_screenshot(str(args.screenshot))
            print(f"screenshot: {args.screenshot}")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
