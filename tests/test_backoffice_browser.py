"""The back office in a real browser: Debian's headless Chromium through selenium and chromedriver.

Signs in, walks every page in both languages, does a return from request to store stock,
changes a setting while a kiosk's own client keeps reading its settings, acknowledges a door
alarm and downloads the commission CSV. Screenshots of every page at 1366x900 and 390 px wide
go to ``$PICKUP_SCREENSHOTS`` when set (``docs/backoffice`` keeps the project's copies), else to
the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from backoffice_support import ADMIN_PASSWORD, ADMIN_USER, backoffice_seed, kiosk_headers

from kiosk.server.harness import ServerThread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
webdriver = pytest.importorskip("selenium.webdriver")
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):  # pragma: no cover
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1366,900", "--lang=zh-TW", "--no-first-run", "--disable-extensions"):  # fmt: skip
        opts.add_argument(arg)
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def fleet_data(server) -> None:
    """Heartbeats, events and an open alarm, as kiosks would send them."""
    api = server.api_url
    hb = {"state": "idle", "camera": "ok", "gpio": "alarm", "outbox": 2, "version": "2.0.0", "uptime": 3600.0}
    requests.post(api + "/kiosks/k_1/heartbeat", json=hb, headers=kiosk_headers(), timeout=10)
    events = [
        ("k_1", {"kind": "camera_lost", "at": "2026-12-01T09:58:00Z"}),
        ("k_1", {"kind": "camera_back", "at": "2026-12-01T09:59:00Z"}),
        ("k_1", {"kind": "door_forced", "door": 3, "at": "2026-12-01T10:00:00Z", "detail": "opened without a pickup"}),
        ("k_2", {"kind": "outbox_attention", "at": "2026-12-01T10:05:00Z", "detail": "2 writes parked"}),
    ]
    for kiosk_id, body in events:
        token = "test-kiosk-token" if kiosk_id == "k_1" else "test-kiosk-token-2"
        r = requests.post(f"{api}/kiosks/{kiosk_id}/events", json=body, headers=kiosk_headers(token, True), timeout=10)
        assert r.status_code == 204, r.text


@pytest.fixture
def server():
    with ServerThread(seed=backoffice_seed()) as srv:
        fleet_data(srv)
        yield srv


def sign_in(browser, server, user=ADMIN_USER, password=ADMIN_PASSWORD):
    browser.delete_all_cookies()
    browser.get(server.base_url + "/admin/")
    assert "/admin/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    wait(lambda: "/admin/orders" in browser.current_url)


def wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except WebDriverException:  # the page is still being replaced (element not there yet)
            pass
        time.sleep(0.05)
    assert predicate()


def text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def click(browser, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def shot_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("PICKUP_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def screenshot(browser, folder: Path, name: str, width: int) -> Path:
    """The whole page at ``width`` CSS pixels (900 px high at the laptop width, full height on a phone)."""
    mobile = width < 700
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 844 if mobile else 900, "deviceScaleFactor": 1, "mobile": mobile},
    )
    browser.refresh()
    wait(lambda: browser.execute_script("return document.readyState") == "complete")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    if mobile:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": min(int(height), 4000), "deviceScaleFactor": 1, "mobile": True},
        )
    path = folder / f"{name}-{width}.png"
    browser.save_screenshot(str(path))
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    overflow = browser.execute_script("return document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow or not mobile, f"{name} scrolls sideways at {width} px"
    return path


# ---------------------------------------------------------------- the walks


def test_sign_in_walk_every_page_in_both_languages(browser, server):
    sign_in(browser, server)
    assert browser.find_element(By.TAG_NAME, "h1").text == "訂單"
    pages = {
        "/admin/orders": "訂單",
        "/admin/orders?status=overdue": "訂單",
        "/admin/orders/o_2": "訂單 A1002",
        "/admin/settings": "設定",
        "/admin/staff": "店員",
        "/admin/report": "佣金報表",
        "/admin/fleet": "取件機",
    }
    for path, heading in pages.items():
        browser.get(server.base_url + path)
        assert browser.find_element(By.TAG_NAME, "h1").text == heading, path
        body = text(browser)
        for prefix in ("nav_", "set_", "st_", "ev_", "kind_", "col_"):  # no untranslated keys
            assert prefix not in body, (path, prefix)
    # the overdue filter and the search
    browser.get(server.base_url + "/admin/orders")
    browser.find_element(By.CSS_SELECTOR, '#status-filter a[data-status="overdue"]').click()
    wait(lambda: "status=overdue" in browser.current_url)
    rows = browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")
    assert [r.get_attribute("data-order") for r in rows] == ["A1003"]
    assert "已逾期" in rows[0].text
    browser.get(server.base_url + "/admin/orders")
    browser.find_element(By.ID, "q").send_keys("emily.chen@EXAMPLE.org")
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    wait(lambda: "q=" in browser.current_url)
    numbers = {r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")}
    assert numbers == {"A1004", "A1005", "A1006"}
    # English, kept across pages
    click(browser, "lang-switch")
    wait(lambda: browser.find_element(By.TAG_NAME, "h1").text == "Orders")
    browser.get(server.base_url + "/admin/fleet")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Kiosks"
    assert "Open door alarms" in text(browser)
    click(browser, "lang-switch")
    wait(lambda: browser.find_element(By.TAG_NAME, "h1").text == "取件機")
    # sign out: the pages need signing in again
    click(browser, "sign-out")
    wait(lambda: "/admin/login" in browser.current_url)
    browser.get(server.base_url + "/admin/settings")
    assert "/admin/login" in browser.current_url


def test_return_from_request_to_store_stock(browser, server):
    sign_in(browser, server)
    browser.get(server.base_url + "/admin/orders/o_2")
    assert browser.find_element(By.ID, "order-status").get_attribute("data-status") == "arrived"
    browser.find_element(By.ID, "reason").send_keys("外箱破損")
    click(browser, "do-return")
    wait(lambda: browser.find_element(By.ID, "order-status").get_attribute("data-status") == "return_requested")
    assert server.order_by_number("A1002")["status"] == "return_requested"
    click(browser, "do-approve")
    wait(lambda: browser.find_element(By.ID, "order-status").get_attribute("data-status") == "return_reviewed")
    click(browser, "do-stock")
    wait(lambda: browser.find_element(By.ID, "order-status").get_attribute("data-status") == "restocked")
    assert server.order_by_number("A1002")["status"] == "restocked"
    history = browser.find_element(By.ID, "history").text
    for line in ("申請退貨", "退貨核准", "入門市庫存"):
        assert line in history
    assert "外箱破損" in text(browser)


def test_a_setting_change_reaches_a_running_kiosks_settings_read(browser, server):
    from kiosk.api.client import BackendClient

    client = BackendClient(server.base_url, "test-kiosk-token")
    seen: list[tuple[int, bool]] = []
    stop = threading.Event()

    def kiosk_loop() -> None:  # the kiosk re-reads its settings on a timer; here every 0.2 s
        while not stop.is_set():
            s = client.settings()
            seen.append((s.overdue_days, s.member_code_only))
            stop.wait(0.2)

    reader = threading.Thread(target=kiosk_loop, daemon=True)
    reader.start()
    try:
        wait(lambda: len(seen) >= 1)
        assert seen[-1] == (7, False)
        sign_in(browser, server)
        browser.get(server.base_url + "/admin/settings")
        field = browser.find_element(By.NAME, "overdue_days")  # form fields carry the API's key names
        field.clear()
        field.send_keys("4")
        browser.find_element(By.CSS_SELECTOR, 'select[name="member_code_only"] option[value="true"]').click()
        click(browser, "save-settings")
        wait(lambda: "ok=saved" in browser.current_url)
        wait(lambda: seen[-1] == (4, True), timeout=5)
        # a bad value is refused on the page and changes nothing
        field = browser.find_element(By.NAME, "lockout_attempts")
        field.clear()
        field.send_keys("0")
        click(browser, "save-settings")
        wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#flash.bad"))
        assert client.settings().lockout_attempts == 3
    finally:
        stop.set()
        reader.join(5)
        client._session.close()


def test_acknowledge_an_alarm_and_download_the_csv(browser, server):
    sign_in(browser, server)
    browser.get(server.base_url + "/admin/fleet")
    assert browser.find_element(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]').get_attribute("content") == "15"
    k1 = browser.find_element(By.CSS_SELECTOR, '#kiosks tr[data-kiosk="k_1"]')
    assert "在線" in k1.text
    assert "2.0.0" in k1.text
    assert "離線" in browser.find_element(By.CSS_SELECTOR, '#kiosks tr[data-kiosk="k_2"]').text
    alarm = browser.find_element(By.CSS_SELECTOR, '#alarms tr[data-alarm="k_1:door_forced:3"]')
    alarm.find_element(By.TAG_NAME, "button").click()
    wait(lambda: "ok=alarm_acked" in browser.current_url)
    assert browser.find_elements(By.ID, "no-alarms")
    assert (
        requests.get(
            server.api_url + "/admin/kiosks",
            headers={"Authorization": "Bearer " + admin_token(server)},
            timeout=10,
        ).json()[0]["alarms"]
        == []
    )
    assert "櫃門被強行打開" in browser.find_element(By.ID, "events").text  # the event log keeps it
    # the commission report and its CSV
    browser.get(server.base_url + "/admin/report?from=2020-01-01&to=2030-12-31")
    assert "陳小華" in browser.find_element(By.ID, "report").text
    click(browser, "csv-link")
    csv_file = browser.downloads / "commission-2020-01-01-2030-12-31.csv"
    wait(lambda: csv_file.exists() and csv_file.stat().st_size > 0)
    lines = csv_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "staff_id,name,received,handed_over"
    assert lines[1].startswith("s_1,陳小華,")


def test_add_deactivate_and_reset_pin_of_staff(browser, server):
    sign_in(browser, server)
    browser.get(server.base_url + "/admin/staff")
    browser.find_element(By.ID, "new-name").send_keys("周杰")
    browser.find_element(By.ID, "new-badge").send_keys("STAFF-0042")
    browser.find_element(By.ID, "new-pin").send_keys("4242")
    click(browser, "do-add-staff")
    wait(lambda: "ok=staff_added" in browser.current_url)
    row = browser.find_element(By.XPATH, '//tr[td[contains(., "STAFF-0042")]]')
    staff_id = row.get_attribute("data-staff")
    row.find_element(By.CSS_SELECTOR, 'input[name="pin"]').send_keys("5555")
    row.find_element(By.XPATH, './/form[.//input[@name="pin"]]//button').click()
    wait(lambda: "ok=pin_reset_done" in browser.current_url)
    login = {"badge_code": "STAFF-0042", "pin": "5555"}
    assert requests.post(server.api_url + "/staff/login", json=login, headers=kiosk_headers(), timeout=10).ok
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-staff="{staff_id}"]')
    row.find_element(By.CSS_SELECTOR, "button.danger").click()
    wait(lambda: "ok=deactivated" in browser.current_url)
    r = requests.post(server.api_url + "/staff/login", json=login, headers=kiosk_headers(), timeout=10)
    assert r.status_code == 401


def admin_token(server) -> str:
    r = requests.post(server.api_url + "/admin/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
                      timeout=10)  # fmt: skip
    return r.json()["admin_token"]


def test_screenshots_of_every_page_at_laptop_and_phone_width(browser, server, tmp_path):
    folder = shot_dir(tmp_path)
    admin = {"Authorization": "Bearer " + admin_token(server)}
    requests.post(server.api_url + "/admin/orders/o_4/return", json={"reason": "size too small"}, headers=admin,
                  timeout=10)  # fmt: skip
    requests.post(server.api_url + "/admin/orders/o_2/notify", json={}, headers=admin, timeout=10)
    sign_in(browser, server)
    browser.delete_cookie("pk_admin_lang")
    pages = [
        ("login", None),
        ("orders", "/admin/orders"),
        ("orders-overdue", "/admin/orders?status=overdue"),
        ("order", "/admin/orders/o_2"),
        ("order-return", "/admin/orders/o_4"),
        ("settings", "/admin/settings"),
        ("staff", "/admin/staff"),
        ("report", "/admin/report?from=2020-01-01&to=2030-12-31"),
        ("fleet", "/admin/fleet"),
    ]
    made = []
    for lang in ("zh-TW", "en"):
        for name, path in pages:
            if name == "login":
                browser.delete_cookie("pk_admin")
                browser.get(server.base_url + "/admin/login")
            else:
                if not browser.get_cookie("pk_admin"):
                    sign_in(browser, server)
                browser.get(server.base_url + path)
            if lang == "en":
                browser.add_cookie({"name": "pk_admin_lang", "value": "en", "path": "/admin"})
            for width in (1366, 390):
                made.append(screenshot(browser, folder, f"{name}-{lang}", width))
    assert len(made) == len(pages) * 4
    assert all(p.stat().st_size > 5000 for p in made)


def test_a_form_post_without_its_csrf_token_changes_nothing_in_the_browser(browser, server):
    sign_in(browser, server)
    browser.get(server.base_url + "/admin/orders/o_2")
    browser.execute_script("document.querySelector('#form-return input[name=csrf_token]').value = 'forged'")
    click(browser, "do-return")
    wait(lambda: "403" in browser.title or "沒有做任何變更" in text(browser))
    assert server.order_by_number("A1002")["status"] == "arrived"
    assert str(uuid.uuid4())  # the browser stays usable


def test_the_status_select_filters_too(browser, server):
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server)
    Select(browser.find_element(By.NAME, "status")).select_by_value("overdue")
    browser.find_element(By.CSS_SELECTOR, "#search-form button").click()
    wait(lambda: "status=overdue" in browser.current_url)
    assert [r.get_attribute("data-order") for r in browser.find_elements(By.CSS_SELECTOR, "#orders tbody tr")] == [
        "A1003"
    ]
