"""The web view in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium): log in, filter the audit by a reason,
accept a rejected example and reject an accepted one with the keyboard, and
find both verdicts in `export`. A screenshot of the judged example is kept in
test-artifacts/. With the workspace's SQLite store and with a shared PostgreSQL one."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import REPO, ServedWorkspace, start_scripted_server
from tests.sandbox_backends import IN_CI

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        message = "Debian's chromium and chromium-driver are not installed (scripts/setup.sh installs them)"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--no-first-run", "--disable-background-networking"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


def verdict_text(browser) -> str:
    return browser.execute_script("return document.getElementById('verdict')?.textContent || ''")


def test_a_person_judges_examples_in_the_browser_and_export_follows(tmp_path, browser, shared_store):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # One teacher that answers well and one whose every answer is malformed: accepted and rejected examples
    # in every run, whatever order concurrent calls take.
    teacher, broken = start_scripted_server(), start_scripted_server("--malformed-every", "1")
    server = ServedWorkspace(tmp_path / "ws", shared_store)
    try:
        for spec, count in ((teacher, 8), (broken, 4)):
            job = server.client.post("/api/jobs", json={"command": "generate", "options": {
                "domain": "cypher", "teacher": f"openai:scripted@{spec.base_url}", "count": count, "max_attempts": 1}})
            assert server.events(job.json()["id"])[-1][1]["status"] == "succeeded"

        browser.get(f"{server.url}/login?token={server.token}&to=/audit")
        reason = Select(browser.find_element(By.ID, "reason"))
        chosen = reason.options[1].text
        reason.select_by_visible_text(chosen)
        browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
        WebDriverWait(browser, 10).until(lambda b: "reason=" in b.current_url)
        rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-id]")
        assert rows and all(chosen in row.text for row in rows)

        rejected = rows[0].get_attribute("data-id")
        rows[0].click()
        WebDriverWait(browser, 10).until(lambda b: f"/examples/{rejected}" in b.current_url)
        browser.find_element(By.ID, "who").send_keys("ana")
        browser.find_element(By.ID, "note").send_keys("the query is fine")
        browser.find_element(By.TAG_NAME, "body").send_keys("a")
        # Read in one script call: the page reloads after a verdict, and a node found before the reload and read
        # after it fails as stale (or, in Chrome, as a node that "does not belong to the document").
        reloaded = WebDriverWait(browser, 10)
        reloaded.until(lambda b: "accepted by ana" in verdict_text(b))
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "web_view_example.png"))

        browser.get(f"{server.url}/audit?accepted=true")
        accepted = browser.find_element(By.CSS_SELECTOR, "tr[data-id]").get_attribute("data-id")
        browser.find_element(By.CSS_SELECTOR, "tr[data-id]").click()
        WebDriverWait(browser, 10).until(lambda b: f"/examples/{accepted}" in b.current_url)
        browser.find_element(By.TAG_NAME, "body").send_keys("r")
        reloaded.until(lambda b: "rejected by ana" in verdict_text(b))

        exported = [json.loads(line)["id"] for line in server.client.get("/api/export").text.splitlines()]
        assert rejected in exported and accepted not in exported
        browser.get(f"{server.url}/")
        assert "succeeded" in browser.find_element(By.TAG_NAME, "table").text
    finally:
        server.stop()
        for scripted in (teacher, broken):
            scripted.process.terminate()
            scripted.process.wait(timeout=10)
    print(f"screenshot: {ARTIFACTS / 'web_view_example.png'}")
