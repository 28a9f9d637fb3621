"""The dashboard in a real browser (Debian's chromium, driven by selenium).

Run by DashboardBrowserTests (Swift) against a live `lethe serve` whose engine works on the
sandbox. Environment: LETHE_BASE, LETHE_OFFICER_TOKEN, LETHE_AUDITOR_TOKEN, LETHE_EMAIL (a
seeded customer), LETHE_PUBKEY (the report key, PEM), LETHE_OUT (screenshots and downloads).
Exit 0 when every check passed; each failure is printed.
"""
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["LETHE_BASE"]
OFFICER = os.environ["LETHE_OFFICER_TOKEN"]
AUDITOR = os.environ["LETHE_AUDITOR_TOKEN"]
EMAIL = os.environ["LETHE_EMAIL"]
PUBKEY = os.environ["LETHE_PUBKEY"]
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
    """Screenshot into the output directory; the page must have logged no console error."""
    driver.save_screenshot(os.path.join(OUT, name + ".png"))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    check(not errors, f"{name}: no console errors {errors if errors else ''}")
    unlabelled = driver.execute_script("""
        return [...document.querySelectorAll('input:not([type=hidden]), select')].filter(input => {
          if (input.closest('label')) return false;
          return !(input.id && document.querySelector('label[for="' + input.id + '"]'));
        }).map(input => input.name || input.id);""")
    check(not unlabelled, f"{name}: every field has a label {unlabelled if unlabelled else ''}")


def wait_for_path(predicate):
    """Waits (up to 30 s) until the current URL's path satisfies `predicate` after a click."""
    WebDriverWait(driver, 30).until(lambda d: predicate(urllib.parse.urlparse(d.current_url).path) and
                                    d.execute_script("return document.readyState") == "complete")


def sign_in(token):
    driver.get(BASE + "/signin")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)  # the keyboard alone signs in
    wait_for_path(lambda path: path == "/")


def cookie():
    return driver.get_cookie("lethe_session")["value"]


def fetch(path, data=None, headers=None):
    """An HTTP request with the browser's session cookie: (status, body)."""
    request = urllib.request.Request(BASE + path, data=data, headers={"Cookie": "lethe_session=" + cookie(), **(headers or {})},
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def form(fields):
    return urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"}


try:
    # An officer signs in and sees the overview.
    sign_in(OFFICER)
    check(driver.title.startswith("Overview"), f"signed in as officer: {driver.title}")
    session = driver.get_cookie("lethe_session")
    check(session is not None and session.get("httpOnly") and session.get("sameSite") == "Strict", f"session cookie HttpOnly, SameSite=Strict: {session}")
    shot("01-overview")

    # Files an erasure through the form, after seeing its plan.
    driver.get(BASE + "/new")
    driver.find_element(By.ID, "email").send_keys(EMAIL)
    driver.find_element(By.ID, "ref").send_keys("BROWSER-%d" % int(time.time()))
    driver.find_element(By.ID, "show-plan").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "table.plan"))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.plan tbody tr")
    check(len(rows) == 4, f"the plan shows one row per system: {len(rows)}")
    check(all(row.find_elements(By.TAG_NAME, "td")[1].text in ("delete", "anonymize") for row in rows), "each system deletes or anonymizes")
    shot("02-new-request-plan")
    driver.find_element(By.ID, "file-request").click()
    wait_for_path(lambda path: path.startswith("/requests/req-"))
    request_path = urllib.parse.urlparse(driver.current_url).path
    request_id = request_path.rsplit("/", 1)[-1]
    check(request_id.startswith("req-"), f"filed: {driver.current_url}")

    # It reaches completed, every system verified.
    state = ""
    deadline = time.time() + 90
    while time.time() < deadline:
        driver.get(BASE + request_path)
        state = driver.find_element(By.CSS_SELECTOR, "h1 .state").text
        if state in ("completed", "failed", "needs review"):
            break
        time.sleep(0.5)
    check(state == "completed", f"the request is completed: {state}")
    systems = driver.find_elements(By.CSS_SELECTOR, "article.card")
    check(len(systems) == 4, f"four systems on the detail page: {len(systems)}")
    check(all(", verified" in article.text for article in systems), "every system verified")
    check(EMAIL not in driver.page_source, "no identifier of the subject on the page once the request ended")
    check(len(driver.find_elements(By.CSS_SELECTOR, "table.trail tbody tr")) > 5, "the audit trail with hashes")
    time_title = driver.find_element(By.CSS_SELECTOR, "time").get_attribute("title")
    check(time_title.endswith("UTC"), f"times carry the UTC value on hover: {time_title}")
    shot("03-request-detail")

    # The certificate downloads and verifies with openssl.
    status, certificate = fetch(request_path + "/certificate/certificate.json")
    status_sig, signature = fetch(request_path + "/certificate/certificate.json.sig")
    check(status == 200 and status_sig == 200, f"certificate downloaded: {status}, {status_sig}")
    with open(os.path.join(OUT, "certificate.json"), "wb") as f:
        f.write(certificate)
    with open(os.path.join(OUT, "certificate.json.sig"), "wb") as f:
        f.write(signature)
    verified = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", PUBKEY, "-rawin",
                               "-in", os.path.join(OUT, "certificate.json"), "-sigfile", os.path.join(OUT, "certificate.json.sig")],
                              capture_output=True, text=True)
    check(verified.returncode == 0, f"openssl verifies the certificate: {verified.stdout.strip()} {verified.stderr.strip()}")
    check(EMAIL.encode() not in certificate, "no identifier in the certificate")
    status, _ = fetch(request_path + "/certificate/certificate.html")
    check(status == 200, "the certificate's HTML")

    # A form without its CSRF token is refused.
    body, headers = form({"reason": "no token"})
    status, _ = fetch(request_path + "/cancel", body, headers)
    check(status == 403, f"a form without its CSRF token: {status}")

    # The other pages render.
    driver.get(BASE + "/requests?state=completed")
    check(request_id in driver.page_source, "the requests table lists it, filtered by state")
    shot("04-requests")
    driver.get(BASE + "/systems")
    check("legal obligation" in driver.page_source, "systems: purposes and lawful bases")
    shot("05-systems")

    # A consent sweep: upload, dry run, then file.
    ledger = os.path.join(OUT, "consent.csv")
    with open(ledger, "w") as f:
        f.write("subject_email,purpose,status,changed_at\nsweep-%d@example.com,marketing,revoked,2026-11-20\n" % int(time.time()))
    driver.get(BASE + "/sweeps")
    driver.find_element(By.ID, "ledger").send_keys(ledger)
    driver.find_element(By.ID, "sweep-dry-run").click()
    output = driver.find_element(By.ID, "sweep-result")
    for _ in range(100):
        if output.text.startswith("Would file"):
            break
        time.sleep(0.1)
    check(output.text.startswith("Would file 1 withdrawal"), f"the dry run: {output.text}")
    driver.find_element(By.ID, "sweep-file").click()
    for _ in range(100):
        if output.text.startswith("Filed"):
            break
        time.sleep(0.1)
    check(output.text.startswith("Filed 1 withdrawal"), f"filed: {output.text}")
    shot("06-sweeps")

    # Signing out ends the session.
    driver.get(BASE + "/")
    driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait_for_path(lambda path: path == "/signin")
    check(driver.current_url.endswith("/signin"), f"signed out: {driver.current_url}")

    # An auditor sees no button that changes anything, and a crafted POST is refused.
    sign_in(AUDITOR)
    driver.get(BASE + request_path)
    changing = driver.find_elements(By.CSS_SELECTOR, "main form[method=post]")
    check(not changing, f"no form that changes anything for an auditor: {[f.get_attribute('action') for f in changing]}")
    check(not driver.find_elements(By.CSS_SELECTOR, "a[href='/new']"), "no New request link for an auditor")
    shot("07-auditor-detail")
    csrf = driver.find_element(By.CSS_SELECTOR, "form.signout input[name=csrf]").get_attribute("value")
    body, headers = form({"csrf": csrf, "reason": "crafted"})
    status, _ = fetch(request_path + "/cancel", body, headers)
    check(status == 403, f"a crafted POST by an auditor, with a valid CSRF token: {status}")

    # Reports: export a period, list it, and verify the uploaded files.
    driver.get(BASE + "/reports")
    driver.find_element(By.CSS_SELECTOR, "form[action='/reports'] button").click()
    WebDriverWait(driver, 60).until(lambda d: "Exported lethe-report-" in d.page_source)
    check("Exported lethe-report-" in driver.page_source, "a period report exported")
    link = driver.find_element(By.CSS_SELECTOR, "ul.downloads a")
    name = urllib.parse.urlparse(link.get_attribute("href")).path.rsplit("/", 1)[-1]
    stem = name.rsplit(".json", 1)[0] if name.endswith(".json") else name.split(".")[0]
    for suffix in [".json", ".json.sig"]:
        status, data = fetch("/reports/files/" + stem + suffix)
        check(status == 200, f"download {stem}{suffix}: {status}")
        with open(os.path.join(OUT, stem + suffix), "wb") as f:
            f.write(data)
    driver.find_element(By.ID, "report-file").send_keys(os.path.join(OUT, stem + ".json"))
    driver.find_element(By.ID, "signature-file").send_keys(os.path.join(OUT, stem + ".json.sig"))
    driver.find_element(By.CSS_SELECTOR, "#verify-form button").click()
    result = driver.find_element(By.ID, "verify-result")
    for _ in range(100):
        if result.text.startswith(("VALID", "INVALID")):
            break
        time.sleep(0.1)
    check(result.text.startswith("VALID"), f"the uploaded report verifies: {result.text}")
    shot("08-reports")

    # Readable on a phone: no sideways scrolling.
    driver.set_window_size(390, 844)
    for path, name in [("/", "09-phone-overview"), ("/requests", "10-phone-requests"), (request_path, "11-phone-detail")]:
        driver.get(BASE + path)
        fits = driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        check(fits, f"{path} fits a phone's width")
        shot(name)
finally:
    driver.quit()

if failures:
    print(f"{len(failures)} check(s) failed", flush=True)
    sys.exit(1)
print("all browser checks passed", flush=True)
