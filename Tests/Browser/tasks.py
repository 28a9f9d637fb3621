"""The dashboard's Tasks page in a real browser (Debian's chromium, driven by selenium).

Run by DashboardBrowserTests (Swift) against a live `lethe serve` with a manual target
(`warehouse`, kind: manual) next to the sandbox's SCIM targets. Environment: LETHE_BASE,
LETHE_OFFICER_TOKEN, LETHE_AUDITOR_TOKEN, LETHE_EMAIL (the subject of the filed erasure),
LETHE_REQUEST (its id), LETHE_OUT (screenshots). Exit 0 when every check passed.
"""
import os
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["LETHE_BASE"]
OFFICER = os.environ["LETHE_OFFICER_TOKEN"]
AUDITOR = os.environ["LETHE_AUDITOR_TOKEN"]
EMAIL = os.environ["LETHE_EMAIL"]
REQUEST = os.environ["LETHE_REQUEST"]
OUT = os.environ["LETHE_OUT"]
os.makedirs(OUT, exist_ok=True)
failures = []


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message, flush=True)
    if not condition:
        failures.append(message)


options = Options()
options.binary_location = os.environ.get("LETHE_CHROMIUM", "/usr/bin/chromium")
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(os.environ.get("LETHE_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
driver.set_page_load_timeout(30)


def shot(name):
    driver.save_screenshot(os.path.join(OUT, name + ".png"))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    check(not errors, f"{name}: no console errors {errors if errors else ''}")


def wait_for_path(predicate):
    WebDriverWait(driver, 30).until(lambda d: predicate(urllib.parse.urlparse(d.current_url).path) and
                                    d.execute_script("return document.readyState") == "complete")


def sign_in(token):
    driver.delete_all_cookies()
    driver.get(BASE + "/signin")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)
    wait_for_path(lambda path: path == "/")


try:
    # The auditor sees the task and its instructions, but not who the subject is, and no form.
    sign_in(AUDITOR)
    driver.get(BASE + "/tasks")
    check(driver.title.startswith("Tasks"), f"the Tasks page: {driver.title}")
    page = driver.page_source
    check("runbook DW-7" in page and REQUEST in page, "the auditor sees the task and its instructions")
    check(EMAIL not in page, "no identifier shown to an auditor")
    check(not driver.find_elements(By.CSS_SELECTOR, "form[action^='/tasks/']"), "an auditor has no confirmation form")
    shot("tasks-01-auditor")

    # The officer sees the identifiers the person needs, and records what was done.
    sign_in(OFFICER)
    driver.get(BASE + "/tasks")
    page = driver.page_source
    check(EMAIL in page, "the officer sees the subject's identifiers while the request is open")
    shot("tasks-02-officer")
    Select(driver.find_element(By.NAME, "outcome")).select_by_value("erased")
    driver.find_element(By.NAME, "note").send_keys("ticket OPS-1234")
    driver.find_element(By.CSS_SELECTOR, "form[action^='/tasks/'] button[type=submit]").click()
    wait_for_path(lambda path: path == "/tasks")
    check("Recorded" in driver.page_source, "the confirmation is acknowledged")
    check(driver.find_elements(By.ID, "no-tasks"), "no task is left")
    shot("tasks-03-confirmed")

    # The request is completed, said as confirmed by a person; no page shows the identifier.
    driver.get(BASE + "/requests/" + REQUEST)
    page = driver.page_source
    check("completed" in page, "the request page shows it completed")
    check("confirmed by a person" in page, "the request page says the warehouse outcome was confirmed by a person")
    shot("tasks-04-request")
    for path in ["/", "/requests", "/tasks", "/requests/" + REQUEST, "/systems"]:
        driver.get(BASE + path)
        check(EMAIL not in driver.page_source, f"{path}: no identifier after completion")
finally:
    driver.quit()

if failures:
    print(f"{len(failures)} browser check(s) failed", flush=True)
    sys.exit(1)
print("all browser checks passed", flush=True)
