"""Headless Chromium driven by Selenium, for the demo page's test and its screenshot.

Uses Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`);
`find_chromium()` says what is missing, so a test can skip with that reason.

Example:

>>> with chromium() as browser:
...     label = classify_in_page(browser, "http://127.0.0.1:8501/", "A great film.")
"""
import contextlib
import shutil

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver", "chromium-driver")


def find_chromium():
    """(browser path, driver path), or (None, the sentence saying what is missing)."""
    browser = next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = next(filter(None, map(shutil.which, DRIVERS)), None)
    if browser and driver:
        return browser, driver
    missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
    return None, f"{missing} not on the PATH (Debian: apt-get install chromium chromium-driver)"


@contextlib.contextmanager
def chromium(width=1000, height=1000):
    """A headless Chromium `selenium.webdriver.Chrome`, quit on exit."""
    from selenium import webdriver

    browser, driver = find_chromium()
    if browser is None:
        raise RuntimeError(driver)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    try:
        yield session
    finally:
        session.quit()


def classify_in_page(browser, url, text=None, timeout=120):
    """Open the demo page at `url`, type `text` (None: leave the box as it is), press
    Classify, and return the label line shown, or the error shown, whichever comes."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    if text is not None:
        browser.get(url)
        box = browser.find_element(By.ID, "text")
        box.clear()
        box.send_keys(text)
    browser.execute_script("document.getElementById('label').textContent = '';"
                           "document.getElementById('error').textContent = '';")
    browser.find_element(By.ID, "classify").click()

    def shown(driver):
        error = driver.find_element(By.ID, "error").text
        label = driver.find_element(By.ID, "label")
        return error or (label.is_displayed() and label.text)

    return WebDriverWait(browser, timeout).until(shown)


def pick_class(browser, name, timeout=120):
    """Pick class `name` in the demo page's class picker and wait until the page shows
    its explanation (the words' legend names it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    Select(browser.find_element(By.ID, "target")).select_by_value(name)
    WebDriverWait(browser, timeout).until(
        lambda driver: f"of {name} " in driver.find_element(By.ID, "words-legend").text
        or driver.find_element(By.ID, "error").text)
