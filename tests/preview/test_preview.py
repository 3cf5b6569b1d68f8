"""`relbot preview` in a real browser: what an author sees and does, end to end.

Headless Chromium loads the page from a real `relbot preview` process watching a copy of
the daily check-in; the tests pick a module and a language, press buttons, type, watch
the diagram's highlight move, and edit the file on disk to see the change and a
diagnostic appear, as an author with an editor open beside the browser would.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from .conftest import Server, start_server

QUESTION_ES = "¿Hubo hoy algún momento en que un límite importara?"
QUESTION_EN = "Was there a moment today when a boundary mattered?"

RELOAD = 10_000  # ms for an edit to show: the file poll plus a re-check, on a loaded machine


def _current(page: Page) -> object:
    return page.locator("#graph .node.current")


def _start(page: Page, module: str, lang: str) -> None:
    page.select_option("#module", module)
    page.select_option("#lang", lang)
    page.click("#start")
    expect(page.locator("#status")).to_have_text(f"playing {module} in {lang}")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_play_a_module_in_spanish_with_buttons_text_and_the_diagram(
        page: Page, shots: Path) -> None:
    expect(page.locator("#module option")).not_to_have_count(0)
    _start(page, "daily_checkin", "es")
    log = page.locator("#log")
    expect(log.locator(".bot").first).to_have_text("Un registro rápido, de menos de un minuto.")
    expect(_current(page)).to_have_attribute("data-state", "mood")

    page.fill("#text", "6")
    page.press("#text", "Enter")
    expect(log.locator(".person")).to_have_text(["6"])
    expect(log.locator(".bot .bubble").last).to_have_text(QUESTION_ES)
    expect(log.locator(".keyboard button")).to_have_text(
        ["Sí, y lo mantuve", "Sí, alguien lo cruzó", "Sí, y lo evité", "No hubo ninguno"])
    expect(_current(page)).to_have_attribute("data-state", "boundary")
    expect(page.locator('#graph [data-edge="mood answer boundary"]')).to_have_class("edge taken")
    expect(page.locator('#graph [data-edge="boundary choose:held ack_held"]')).to_have_class(
        "edge unreached")

    page.click("#log button:has-text('Sí, y lo mantuve')")
    expect(log.locator(".bot .bubble").filter(has_text=QUESTION_ES)).to_have_text(
        f"{QUESTION_ES}\n\n✓ Sí, y lo mantuve")  # edited as Telegram edits it
    expect(_current(page)).to_have_attribute("data-state", "note_offer")
    expect(page.locator('#graph [data-edge="boundary choose:held ack_held"]')).to_have_class(
        "edge taken")
    expect(page.locator('#graph .node[data-state="ack_held"]')).to_have_class(
        "node kind-goto visited")
    expect(page.locator("#variables tr", has_text="boundary_moment")).to_contain_text('"held"')
    expect(page.locator("#where")).to_have_text("at daily_checkin › note_offer")
    page.screenshot(path=str(shots / "preview-chat.png"))

    page.click("#back")  # back to the boundary question, answer undone
    expect(log.locator(".bot .bubble").last).to_have_text(QUESTION_ES)
    expect(_current(page)).to_have_attribute("data-state", "boundary")
    expect(page.locator("#variables tr", has_text="boundary_moment")).to_contain_text('""')

    page.click("#restart")
    expect(log.locator(".person")).to_have_count(0)
    expect(_current(page)).to_have_attribute("data-state", "mood")


def test_everything_works_from_the_keyboard(page: Page) -> None:
    _start(page, "daily_checkin", "en")
    page.keyboard.press("Tab")  # from the page into the header controls
    page.focus("#text")
    page.keyboard.type("7")
    page.keyboard.press("Enter")
    first = page.locator("#log .keyboard button").first
    expect(first).to_have_text("Yes, and I held it")
    first.focus()
    page.keyboard.press("Tab")  # to the next button
    expect(page.locator("#log .keyboard button").nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#log")).to_contain_text("✓ Yes, someone crossed it")
    expect(_current(page)).to_have_attribute("data-state", "note_offer")


def test_typed_text_is_screened_for_crisis_wording_as_on_telegram(page: Page) -> None:
    _start(page, "daily_checkin", "en")
    page.fill("#text", "I want to kill myself")
    page.press("#text", "Enter")
    expect(page.locator("#log .notice").first).to_contain_text("the crisis screen matched")
    expect(page.locator("#where")).to_contain_text("safety")


def test_saving_the_file_reloads_it_keeps_the_chat_and_shows_diagnostics(
        page: Page, server: Server, shots: Path) -> None:
    _start(page, "daily_checkin", "en")
    page.fill("#text", "6")
    page.press("#text", "Enter")
    expect(page.locator("#log .bot .bubble").last).to_have_text(QUESTION_EN)
    expect(page.locator("#diagnostics")).to_have_text("No problems. The file is ready.")

    # reword the question: the chat stays at it, and /help shows it in the new words
    _edit(server.path, QUESTION_EN, "Was there a moment today when one of your limits mattered?")
    expect(page.locator("#log .note")).to_have_text(
        "reloaded: the chat stays where it was", timeout=RELOAD)
    page.fill("#text", "/help")
    page.press("#text", "Enter")
    expect(page.locator("#log .bot .bubble").last).to_have_text(
        "Was there a moment today when one of your limits mattered?")

    # a misspelt target: the diagnostic appears, underlined, and the chat goes on
    _edit(server.path, "    goto: boundary\n", "    goto: boundry\n")
    problem = page.locator("#diagnostics li").first
    expect(problem).to_contain_text("daily_checkin.yaml:42:11 · D011 error", timeout=RELOAD)
    expect(problem).to_contain_text("no state 'boundry'")
    expect(problem).to_contain_text("hint: did you mean 'boundary'?")
    expect(problem.locator(".squiggle")).to_have_text("boundry")
    expect(page.locator("#counts")).to_contain_text("1 to fix · 20 error(s), 0 warning(s)")
    expect(page.locator("#log .note").last).to_have_text(
        "not reloaded: the file has 20 error(s) (see Diagnostics); the chat goes on with the "
        "last version without errors")
    expect(page.locator("#diagnostics li")).to_have_count(1)  # the rest follow from it
    expect(problem).to_contain_text("(and 19 problem(s) that follow from it)")
    page.screenshot(path=str(shots / "preview-diagnostic.png"))
    old = page.locator("#log button:has-text('No such moment')")
    old.first.click()  # on the keyboard shown before /help: stale, as on Telegram
    expect(page.locator("#log .notice").last).to_contain_text("(a pop-up on Telegram)")
    old.last.click()  # still the last good version of the module

    expect(_current(page)).to_have_attribute("data-state", "note_offer")

    # the state the chat is in is renamed: the module starts again, with a note (back to
    # that state first, and only then the edit: the reload must find the chat there)
    page.click("#back")
    expect(_current(page)).to_have_attribute("data-state", "boundary")
    _edit(server.path, "\n  boundary:\n", "\n  boundry:\n")
    expect(page.locator("#log .note").first).to_have_text(
        "reloaded: the state daily_checkin.boundary is gone, so the module started again",
        timeout=RELOAD)
    expect(page.locator("#diagnostics")).to_have_text("No problems. The file is ready.")
    expect(_current(page)).to_have_attribute("data-state", "mood")


def test_a_file_with_errors_explains_itself_and_starts_once_fixed(
        browser: BrowserContext, module_file: Path) -> None:
    _edit(module_file, "    goto: boundary\n", "    goto: boundry\n")
    server = start_server(module_file)
    page = browser.new_page()
    try:
        page.goto(server.url)
        expect(page.locator("#log .note")).to_contain_text("The file has errors")
        expect(page.locator("#diagnostics li")).to_have_count(1)
        _edit(module_file, "    goto: boundry\n", "    goto: boundary\n")
        expect(page.locator("#status")).to_have_text("playing daily_checkin in en", timeout=RELOAD)
        expect(_current(page)).to_have_attribute("data-state", "mood")
    finally:
        page.close()
        server.process.terminate()
        server.process.communicate(timeout=10)
