// The web app in a real browser (playwright-core driving Debian's Chromium)
// against the real binary: two people chat live; typing, presence and read
// receipts cross over; a SIGKILL restart and a network cut lose and double
// nothing; an offline reload shows the cached history; keyboard-only use;
// reactions; threads; mentions; pins; polls; search; moderation; axe on every screen; a 360 px phone; a message body that is HTML stays text.
import AxeBuilder from "@axe-core/playwright";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { Parley, api } from "./server.mjs";

const BIN = process.env.PARLEY_BIN ?? "";
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
const ARTIFACTS = process.env.E2E_ARTIFACTS ?? "e2e-artifacts";
const PASSWORD = "correct horse battery";
const skip = !BIN ? "PARLEY_BIN is not set (run through ctest)" : !CHROMIUM ? "no chromium installed" : false;

async function axe(page, screen) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`),
    [],
    `axe on ${screen}`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

function bodies(page) {
  return page.locator('[data-testid="message"]').evaluateAll((els) =>
    els.map((e) => ({ seq: Number(e.getAttribute("data-seq")), body: e.querySelector('[data-testid="message-body"]')?.textContent ?? "" })),
  );
}

async function assertGapless(page, who) {
  const list = await bodies(page);
  const seqs = list.map((m) => m.seq);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), `${who}: seqs in order, no gap or duplicate`);
  return list;
}

describe("the web app in Chromium", { skip, timeout: 420_000 }, () => {
  let server, browser, ctxA, ctxB, pageA, pageB, conv;
  const dialogs = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await new Parley(BIN, { "auth.login_ip_max_attempts": "1000" }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
    ctxA = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    ctxB = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    pageA = await ctxA.newPage();
    pageB = await ctxB.newPage();
    for (const p of [pageA, pageB]) p.on("dialog", (d) => (dialogs.push(d.message()), d.dismiss()));
  });

  after(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  test("registers in the browser (alice) and signs in by keyboard only (bob)", async () => {
    await pageA.goto(server.url + "/");
    await pageA.getByRole("heading", { name: "Sign in to Parley" }).waitFor();
    await axe(pageA, "sign in");
    await shot(pageA, "01-sign-in");
    await pageA.getByRole("button", { name: "Create an account" }).click();
    await pageA.getByLabel("Username").fill("alice_e2e");
    await pageA.getByLabel("Display name (optional)").fill("Alice");
    await pageA.getByLabel("Password").fill(PASSWORD);
    await axe(pageA, "register");
    await pageA.getByRole("button", { name: "Create account" }).click();
    await pageA.getByRole("heading", { name: "Welcome, Alice" }).waitFor();
    await axe(pageA, "home");
    await shot(pageA, "02-home");

    await api(server.url, "POST", "/api/auth/register", { username: "bob_e2e", password: PASSWORD, display_name: "Bob" });
    await pageB.goto(server.url + "/");
    await pageB.getByRole("heading", { name: "Sign in to Parley" }).waitFor();
    await pageB.keyboard.press("Tab");
    assert.equal(await pageB.evaluate(() => document.activeElement?.id), "username");
    await pageB.keyboard.type("bob_e2e");
    await pageB.keyboard.press("Tab");
    await pageB.keyboard.type(PASSWORD);
    await pageB.keyboard.press("Enter");
    await pageB.getByRole("heading", { name: "Welcome, Bob" }).waitFor();
  });

  test("alice starts a conversation; messages, typing, presence and read receipts cross over live", async () => {
    await pageA.getByRole("button", { name: "New" }).click();
    await pageA.getByRole("dialog", { name: "New conversation" }).waitFor();
    await axe(pageA, "new conversation dialog");
    await shot(pageA, "03-new-conversation");
    await pageA.getByRole("dialog").getByLabel("Username").fill("bob_e2e");
    await pageA.getByRole("button", { name: "Start", exact: true }).click();
    await pageA.waitForURL(/\/c\/\d+$/);
    conv = pageA.url().split("/c/")[1];
    await pageA.getByRole("heading", { name: "Bob" }).waitFor();

    const composerA = pageA.getByLabel("Message Bob");
    await composerA.fill("hello bob");
    await composerA.press("Enter");
    await pageA.getByTestId("message-body").filter({ hasText: "hello bob" }).waitFor();

    // Bob's list shows the new conversation at once (conversation.added; the
    // fallback refresh every 20 s would miss this deadline), with an unread badge.
    const link = pageB.getByTestId("conversation-link").filter({ hasText: "Alice" });
    await link.waitFor({ timeout: 5_000 });
    await link.getByLabel("1 unread").waitFor({ timeout: 15_000 });
    // Keyboard: focus the conversation link and open it with Enter.
    await link.focus();
    await pageB.keyboard.press("Enter");
    await pageB.getByTestId("message-body").filter({ hasText: "hello bob" }).waitFor();
    await axe(pageB, "conversation");
    await shot(pageB, "04-conversation");

    // Presence: alice sees bob online; bob reads, alice sees "Seen by Bob".
    await pageA.getByTestId("presence").filter({ hasText: "Online" }).waitFor();
    await pageA.getByTestId("seen-by").filter({ hasText: "Seen by Bob" }).waitFor();

    // Typing: bob types without sending.
    await pageB.getByLabel("Message Alice").type("typing something", { delay: 20 });
    await pageA.getByTestId("typing").filter({ hasText: "Bob is typing" }).waitFor();
    await pageB.getByLabel("Message Alice").fill("");

    // Bob answers by keyboard only: the composer is reached with Tab from the conversation.
    await pageB.getByLabel("Message Alice").focus();
    await pageB.keyboard.type("hi alice");
    await pageB.keyboard.press("Enter");
    await pageA.getByTestId("message-body").filter({ hasText: "hi alice" }).waitFor();
    // The new message is announced politely on alice's side.
    await pageA.getByTestId("announcer").filter({ hasText: "hi alice" }).waitFor();
  });

  test("a message body of HTML is shown as text, and links are safe", async () => {
    const html = "<img src=x onerror=alert(1)>";
    await pageB.getByLabel("Message Alice").fill(html);
    await pageB.getByLabel("Message Alice").press("Enter");
    await pageB.getByLabel("Message Alice").fill("see https://example.com/docs");
    await pageB.getByLabel("Message Alice").press("Enter");
    const shown = pageA.getByTestId("message-body").filter({ hasText: "onerror" });
    await shown.waitFor();
    assert.equal(await shown.textContent(), html);
    assert.equal(await pageA.locator('[data-testid="message-body"] img').count(), 0);
    const a = pageA.getByRole("link", { name: "https://example.com/docs", exact: true });
    await a.waitFor();
    assert.equal(await a.getAttribute("rel"), "noopener noreferrer");
    await pageA.waitForTimeout(300);
    assert.deepEqual(dialogs, [], "no script ran");
  });

  test("both resume with no gap and no duplicate after the server is killed and restarted", async () => {
    await server.signal("SIGKILL");
    await pageA.getByTestId("connection-banner").waitFor();
    await pageB.getByTestId("connection-banner").waitFor();
    // Sent during the outage: kept in the outbox, shown as sending.
    await pageA.getByLabel("Message Bob").fill("during the outage");
    await pageA.getByLabel("Message Bob").press("Enter");
    await pageA.getByTestId("pending-message").filter({ hasText: "during the outage" }).waitFor();
    await server.start();
    await pageA.getByTestId("connection-banner").waitFor({ state: "detached", timeout: 40_000 });
    await pageB.getByTestId("connection-banner").waitFor({ state: "detached", timeout: 40_000 });
    await pageB.getByTestId("message-body").filter({ hasText: "during the outage" }).waitFor({ timeout: 20_000 });
    for (let i = 1; i <= 5; i++) {
      await pageB.getByLabel("Message Alice").fill(`after restart ${i}`);
      await pageB.getByLabel("Message Alice").press("Enter");
    }
    await pageA.getByTestId("message-body").filter({ hasText: "after restart 5" }).waitFor();
    await pageA.waitForTimeout(500);
    const a = await assertGapless(pageA, "alice");
    const b = await assertGapless(pageB, "bob");
    assert.equal(a.length, b.length);
    assert.equal(a.filter((m) => m.body === "during the outage").length, 1);
    assert.equal(await pageA.getByTestId("pending-message").count(), 0);
  });

  test("a send made with the network cut is delivered once when it comes back", async () => {
    await ctxA.setOffline(true);
    await pageA.getByTestId("connection-banner").waitFor();
    await pageA.getByLabel("Message Bob").fill("sent while offline");
    await pageA.getByLabel("Message Bob").press("Enter");
    await pageA.getByTestId("pending-message").filter({ hasText: "sent while offline" }).waitFor();
    await shot(pageA, "05-offline-send");
    await pageA.waitForTimeout(1000);
    assert.equal(await pageB.getByTestId("message-body").filter({ hasText: "sent while offline" }).count(), 0);
    await ctxA.setOffline(false);
    await pageB.getByTestId("message-body").filter({ hasText: "sent while offline" }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("pending-message").waitFor({ state: "detached", timeout: 30_000 });
    await pageA.waitForTimeout(500);
    await assertGapless(pageA, "alice");
    await assertGapless(pageB, "bob");
    const count = (await bodies(pageB)).filter((m) => m.body === "sent while offline").length;
    assert.equal(count, 1);
  });

  test("a reload while offline opens the app with the cached history", async () => {
    // The service worker is installed (shell cached) and controls the page.
    await pageB.evaluate(() => Promise.race([navigator.serviceWorker.ready.then(() => true), new Promise((_, reject) => setTimeout(() => reject(new Error("no service worker became ready")), 15_000))]));
    await pageB.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    await ctxB.setOffline(true);
    await pageB.reload();
    try {
      await pageB.getByTestId("connection-banner").filter({ hasText: "offline" }).waitFor({ timeout: 20_000 });
    } catch (e) {
      await shot(pageB, "06-offline-reload-failed");
      throw e;
    }
    await pageB.getByTestId("message-body").filter({ hasText: "hello bob" }).waitFor({ timeout: 20_000 });
    await pageB.getByTestId("message-body").filter({ hasText: "sent while offline" }).waitFor();
    await shot(pageB, "06-offline-reload");
    await axe(pageB, "offline conversation");
    await ctxB.setOffline(false);
    await pageB.getByTestId("connection-banner").waitFor({ state: "detached", timeout: 30_000 });
  });

  test("a send queued offline survives a reload and goes out once", async () => {
    await ctxA.setOffline(true);
    await pageA.getByTestId("connection-banner").waitFor();
    await pageA.getByLabel("Message Bob").fill("queued then reloaded");
    await pageA.getByLabel("Message Bob").press("Enter");
    await pageA.getByTestId("pending-message").filter({ hasText: "queued then reloaded" }).waitFor();
    await pageA.reload();
    await pageA.getByTestId("pending-message").filter({ hasText: "queued then reloaded" }).waitFor({ timeout: 20_000 });
    await ctxA.setOffline(false);
    await pageB.getByTestId("message-body").filter({ hasText: "queued then reloaded" }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("pending-message").waitFor({ state: "detached", timeout: 30_000 });
    await pageA.getByTestId("message-body").filter({ hasText: "queued then reloaded" }).waitFor();
    await pageB.waitForTimeout(500);
    const list = await assertGapless(pageB, "bob");
    assert.equal(list.filter((m) => m.body === "queued then reloaded").length, 1);
  });

  test("edits and deletes show on both sides", async () => {
    const mine = pageB.getByTestId("message").filter({ hasText: "hi alice" });
    await mine.getByRole("button", { name: /^Edit message/ }).click();
    const editor = pageB.getByRole("textbox", { name: "Edit message", exact: true });
    await editor.fill("hi alice (edited)");
    await editor.press("Enter");
    await pageA.getByTestId("message-body").filter({ hasText: "hi alice (edited)" }).waitFor();
    await pageA.getByTestId("message").filter({ hasText: "hi alice (edited)" }).getByText("(edited)", { exact: true }).waitFor();
    await pageB.getByTestId("message").filter({ hasText: "after restart 1" }).getByRole("button", { name: /^Delete message/ }).click();
    await pageB.getByRole("dialog", { name: "Delete message" }).waitFor();
    await axe(pageB, "delete dialog");
    await pageB.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await pageA.getByTestId("message-body").filter({ hasText: "after restart 1" }).waitFor({ state: "detached" });
    await pageA.getByText("Message deleted").first().waitFor();
  });

  test("reactions: picked by keyboard, shown live on both sides, toggled off by the chip", async () => {
    const msg = (page) => page.getByTestId("message").filter({ hasText: "hi alice (edited)" });
    await msg(pageA).getByRole("button", { name: /^React to message/ }).focus();
    await pageA.keyboard.press("Enter");
    const picker = pageA.getByRole("dialog", { name: "Add a reaction" });
    await picker.waitFor();
    await axe(pageA, "reaction picker");
    await picker.getByRole("button", { name: "Party" }).focus();
    await pageA.keyboard.press("Enter");
    await picker.waitFor({ state: "detached" });
    const chipA = msg(pageA).getByRole("button", { name: "🎉: 1 person, including you" });
    await chipA.waitFor();
    assert.equal(await chipA.getAttribute("aria-pressed"), "true");
    // Bob sees it live and adds his own by the chip.
    const chipB = msg(pageB).getByRole("button", { name: "🎉: 1 person" });
    await chipB.waitFor();
    assert.equal(await chipB.getAttribute("aria-pressed"), "false");
    await chipB.click();
    await msg(pageA).getByRole("button", { name: "🎉: 2 people, including you" }).waitFor();
    await axe(pageB, "conversation with reactions");
    // Alice takes hers back; both see one left, then after a reload Bob's is still there.
    await msg(pageA).getByRole("button", { name: "🎉: 2 people, including you" }).click();
    await msg(pageB).getByRole("button", { name: "🎉: 1 person, including you" }).waitFor();
    await pageA.reload();
    await msg(pageA).getByRole("button", { name: "🎉: 1 person" }).waitFor();
  });

  test("threads: a reply by keyboard in the thread panel, counted live under the root, broadcast to the conversation", async () => {
    const committed = (where, text) => where.getByTestId("message").filter({ hasText: text });
    const root = (page) => page.locator(".message-list").first().getByTestId("message").filter({ hasText: "hi alice (edited)" });
    await root(pageB).getByRole("button", { name: /^Reply in thread/ }).focus();
    await pageB.keyboard.press("Enter");
    const panelB = pageB.getByRole("complementary", { name: "Thread" });
    await panelB.waitFor();
    // The reply composer has the focus: type and press Enter.
    await pageB.waitForFunction(() => document.activeElement?.id === "thread-composer");
    await pageB.keyboard.type("a reply in the thread");
    await pageB.keyboard.press("Enter");
    await committed(panelB, "a reply in the thread").waitFor().catch(async (e) => {
      await shot(pageB, "12-thread-failed");
      throw e;
    });
    // Alice sees the count under the root, not the reply in the conversation.
    const countA = root(pageA).getByTestId("thread-count");
    await countA.waitFor();
    assert.equal(await countA.textContent(), "1 reply");
    assert.equal(await pageA.locator(".messages").first().getByText("a reply in the thread").count(), 0);
    await countA.click();
    const panelA = pageA.getByRole("complementary", { name: "Thread" });
    await committed(panelA, "a reply in the thread").waitFor();
    await axe(pageA, "thread panel");
    // Alice answers with "also send to the conversation": Bob sees it in both places.
    await panelA.getByRole("checkbox", { name: /^Also send to/ }).check();
    await panelA.getByRole("textbox", { name: /^Reply/ }).fill("answer for everyone");
    await pageA.keyboard.press("Enter");
    await committed(panelB, "answer for everyone").waitFor();
    await committed(pageB.locator(".messages").first(), "answer for everyone").waitFor();
    await root(pageB).getByTestId("thread-count").filter({ hasText: "2 replies" }).waitFor();
    // Escape closes the panel; after a reload the count comes from the server.
    await pageA.keyboard.press("Escape");
    await panelA.waitFor({ state: "detached" });
    await pageA.reload();
    await root(pageA).getByTestId("thread-count").filter({ hasText: "2 replies" }).waitFor();
  });

  test("mentions: @ offers members by keyboard; the mentioned member sees it marked and counted", async () => {
    // Bob is on the home screen, so the mention counts in his list.
    await pageB.goto(server.url + "/");
    const link = pageB.getByTestId("conversation-link").filter({ hasText: "Alice" });
    await link.waitFor();
    const composerA = pageA.getByLabel("Message Bob");
    await composerA.focus();
    await pageA.keyboard.type("hey @bo");
    const list = pageA.getByRole("listbox", { name: "Mention someone" });
    await list.getByRole("option", { name: /Bob/ }).waitFor();
    await axe(pageA, "mention suggestions");
    await pageA.keyboard.press("Enter");
    await list.waitFor({ state: "detached" });
    assert.equal(await composerA.inputValue(), "hey @bob_e2e ");
    await pageA.keyboard.type("look at this");
    await pageA.keyboard.press("Enter");
    await link.getByLabel("1 mention").waitFor();
    // Bob's device has it but Bob has not read it: Alice sees "Delivered", then "Seen by Bob".
    await pageA.getByTestId("delivery").filter({ hasText: /^Delivered$/ }).waitFor();
    await link.click();
    await pageA.getByTestId("seen-by").filter({ hasText: "Seen by Bob" }).waitFor();
    const msg = pageB.getByTestId("message").filter({ hasText: "look at this" });
    await msg.locator("mark.mention", { hasText: "@bob_e2e" }).waitFor();
    await msg.getByText("mentions you").waitFor();
    await link.getByLabel("1 mention").waitFor({ state: "detached" });
    await axe(pageB, "conversation with a mention");
    // The notification level is kept.
    const saved = pageB.waitForResponse((r) => r.url().endsWith(`/api/conversations/${conv}/notify`) && r.status() === 200);
    await pageB.getByLabel("Notifications").selectOption("mentions");
    await saved;
    await pageB.reload();
    // The cached list shows first; the server's follows.
    await pageB.waitForFunction(() => document.querySelector(".notify select")?.value === "mentions", null, { timeout: 10_000 });
  });

  test("pins: pinned by keyboard, marked live on both sides, listed in a dialog that jumps to the message", async () => {
    const msg = (page) => page.locator(".message-list").first().getByTestId("message").filter({ hasText: "hello bob" });
    await msg(pageB).getByRole("button", { name: /^Pin message/ }).focus();
    await pageB.keyboard.press("Enter");
    await msg(pageB).getByText("· pinned").waitFor();
    await msg(pageA).getByText("· pinned").waitFor();
    await pageA.getByRole("button", { name: "Pinned", exact: true }).click();
    const dialog = pageA.getByRole("dialog", { name: "Pinned messages" });
    await dialog.getByTestId("pinned-list").getByText("hello bob").waitFor();
    await axe(pageA, "pinned messages dialog");
    await dialog.getByRole("button", { name: /^Show message/ }).focus();
    await pageA.keyboard.press("Enter");
    await dialog.waitFor({ state: "detached" });
    await pageA.waitForFunction(() => document.activeElement?.getAttribute("data-testid") === "message");
    assert.match(await pageA.evaluate(() => document.activeElement?.textContent ?? ""), /hello bob/);
    await msg(pageA).getByRole("button", { name: /^Unpin message/ }).click();
    await msg(pageB).getByText("· pinned").waitFor({ state: "detached" });
  });

  test("polls: composed in a dialog, voted by keyboard, results live on both sides, closed", async () => {
    await pageA.getByRole("button", { name: "Poll", exact: true }).click();
    const dialog = pageA.getByRole("dialog", { name: "New poll" });
    await dialog.waitFor();
    await axe(pageA, "poll composer");
    await dialog.getByLabel("Question").fill("Where to eat?");
    await dialog.getByLabel("Option 1", { exact: true }).fill("Pizza");
    await dialog.getByLabel("Option 2", { exact: true }).fill("Sushi");
    await dialog.getByRole("button", { name: "Add option" }).click();
    await dialog.getByLabel("Option 3", { exact: true }).fill("Salad");
    await dialog.getByRole("button", { name: "Send poll" }).click();
    await dialog.waitFor({ state: "detached" });
    const card = (page) => page.getByRole("form", { name: "Poll: Where to eat?" });
    await card(pageB).waitFor();
    // Bob votes by keyboard: focus Sushi's radio, Space, then the Vote button.
    await card(pageB).getByRole("radio", { name: /Sushi/ }).focus();
    await pageB.keyboard.press("Space");
    await card(pageB).getByRole("button", { name: "Vote" }).focus();
    await pageB.keyboard.press("Enter");
    const votes = (page, option) => card(page).locator("label", { hasText: option }).getByTestId("poll-votes");
    await votes(pageA, "Sushi").filter({ hasText: "1 vote" }).waitFor();
    await card(pageA).getByText("1 person voted").waitFor();
    await axe(pageA, "conversation with a poll");
    await card(pageA).getByRole("radio", { name: /Pizza/ }).check();
    await card(pageA).getByRole("button", { name: "Vote" }).click();
    await votes(pageB, "Pizza").filter({ hasText: "1 vote" }).waitFor();
    await card(pageB).getByText("2 people voted").waitFor();
    await card(pageA).getByRole("button", { name: "Close poll" }).click();
    await card(pageB).getByText("(closed)").waitFor();
    assert.equal(await card(pageB).getByRole("button", { name: "Change vote" }).isDisabled(), true);
  });

  test("search: a query by keyboard lists hits with the match marked; a hit opens its message", async () => {
    await pageB.getByLabel("Search messages").focus();
    await pageB.keyboard.type("hello bo");
    await pageB.keyboard.press("Enter");
    const results = pageB.getByTestId("search-results");
    const hit = results.getByRole("button").filter({ hasText: "hello bob" });
    await hit.waitFor();
    assert.deepEqual(await hit.locator("mark").allTextContents(), ["hello", "bo"]);
    await axe(pageB, "search results");
    await hit.focus();
    await pageB.keyboard.press("Enter");
    await pageB.waitForFunction(() => (document.activeElement?.textContent ?? "").includes("hello bob"));
    await pageB.getByRole("button", { name: "Clear search" }).click();
    await results.waitFor({ state: "detached" });
  });

  test("shared notes: both edit one text live, by keyboard, and it is kept", async () => {
    const notes = (p) => p.getByRole("textbox", { name: "Shared notes" });
    const valueIs = (p, want) =>
      p.waitForFunction((w) => document.querySelector('[data-testid="notes-text"]')?.value === w, want, { timeout: 15_000 });
    for (const p of [pageA, pageB]) {
      await p.goto(`${server.url}/c/${conv}`);
      const open = p.getByRole("button", { name: "Notes" });
      await open.focus();
      await p.keyboard.press("Enter");
      await notes(p).waitFor();
      await p.getByTestId("notes-status").filter({ hasText: "Saved as you type" }).waitFor({ timeout: 15_000 });
    }
    await notes(pageA).focus();
    await pageA.keyboard.type("Agenda: 😀 ");
    await valueIs(pageB, "Agenda: 😀 ");
    await notes(pageB).focus();
    await pageB.keyboard.press("End");
    await pageB.keyboard.type("ship it");
    await valueIs(pageA, "Agenda: 😀 ship it");
    // Alice's caret stays where she was typing while Bob's edit lands before it.
    await notes(pageA).focus();
    await pageA.keyboard.press("End");
    await notes(pageB).evaluate((el) => el.setSelectionRange(0, 0));
    await pageB.keyboard.type("# ");
    await valueIs(pageA, "# Agenda: 😀 ship it");
    await pageA.keyboard.type("!");
    await valueIs(pageB, "# Agenda: 😀 ship it!");
    await pageA.getByTestId("notes-status").filter({ hasText: "also here: Bob" }).waitFor({ timeout: 10_000 });
    await axe(pageA, "shared notes");
    await shot(pageA, "05-notes");
    // Kept: closed and opened again, the text comes back from the server.
    await pageB.getByRole("button", { name: "Close notes" }).click();
    await pageB.reload();
    await pageB.getByRole("button", { name: "Notes" }).click();
    await valueIs(pageB, "# Agenda: 😀 ship it!");
  });

  test("members, account and admin screens pass axe", async () => {
    await api(server.url, "POST", "/api/auth/register", { username: "carol_e2e", password: PASSWORD });
    await pageA.getByRole("button", { name: "New" }).click();
    await pageA.getByLabel("Group").check();
    await pageA.getByLabel("Title").fill("Team");
    // Typing part of a name suggests people (GET /api/users?q=), keeping the earlier words.
    await pageA.getByLabel(/Usernames/).fill("bob_e2e car");
    await pageA.locator('#new-people-suggestions option[value="bob_e2e carol_e2e"]').waitFor({ state: "attached" });
    await pageA.getByLabel(/Usernames/).fill("bob_e2e carol_e2e");
    await pageA.getByRole("button", { name: "Start", exact: true }).click();
    await pageA.getByRole("heading", { name: "Team" }).waitFor();
    await pageA.getByRole("button", { name: "Members" }).click();
    await pageA.getByRole("dialog", { name: "Members" }).getByText("@carol_e2e").waitFor();
    await axe(pageA, "members dialog");
    await shot(pageA, "07-members");
    await pageA.getByRole("button", { name: /Remove Carol|Remove carol_e2e/ }).click();
    await pageA.getByRole("dialog", { name: "Members" }).getByText("@carol_e2e").waitFor({ state: "detached" });
    await pageA.keyboard.press("Escape");

    await pageA.getByRole("link", { name: "Alice" }).click();
    await pageA.getByRole("heading", { name: "Your account" }).waitFor();
    await axe(pageA, "account");
    await shot(pageA, "08-account");
    const download = pageA.waitForEvent("download");
    await pageA.getByRole("button", { name: "Export my data" }).click();
    const file = await download;
    const { readFile } = await import("node:fs/promises");
    const pages = JSON.parse(await readFile(await file.path(), "utf8"));
    assert.equal(pages[0].user.username, "alice_e2e");
    assert.ok(pages.flatMap((p) => p.messages).some((m) => m.body === "hello bob"), "the export holds what alice sent");

    await pageA.getByRole("link", { name: "Admin" }).click();
    await pageA.getByRole("heading", { name: "Administration" }).waitFor();
    // Two reads of /api/admin/stats make the first points.
    await pageA.getByTestId("chart-latest").first().filter({ hasText: "WebSocket" }).waitFor({ timeout: 15_000 });
    await axe(pageA, "admin charts");
    await shot(pageA, "09-admin-live");
    await pageA.getByRole("tab", { name: "Users" }).click();
    await pageA.getByRole("rowheader", { name: /Carol|carol_e2e/ }).waitFor();
    await axe(pageA, "admin users");
    // Disable carol from the table: her logins stop working.
    await pageA.getByRole("button", { name: "Disable carol_e2e" }).click();
    await pageA.getByRole("button", { name: "Enable carol_e2e" }).waitFor();
    const login = await fetch(server.url + "/api/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "carol_e2e", password: PASSWORD }) });
    assert.equal(login.status, 401);
    await pageA.getByRole("tab", { name: "Audit trail" }).click();
    await pageA.getByRole("cell", { name: "user.registered" }).first().waitFor();
    await axe(pageA, "admin audit");
    await shot(pageA, "10-admin-audit");
  });

  test("moderation: a muted member's send is refused plainly; a report reaches the admins, who delete the message", async () => {
    const team = (page) => page.getByTestId("conversation-link").filter({ hasText: "Team" });
    await pageA.goto(server.url + "/");
    await team(pageA).click();
    await pageA.getByLabel("Message Team").fill("team rules");
    await pageA.getByLabel("Message Team").press("Enter");
    await pageA.getByTestId("message-body").filter({ hasText: "team rules" }).waitFor();
    await pageA.getByRole("button", { name: "Members" }).click();
    const members = pageA.getByRole("dialog", { name: "Members" });
    await members.getByRole("button", { name: /^Mute for an hour (Bob|bob_e2e)/ }).click();
    await members.getByRole("button", { name: /^Unmute (Bob|bob_e2e)/ }).waitFor();
    await axe(pageA, "members dialog with moderation");
    await pageA.keyboard.press("Escape");

    await pageB.goto(server.url + "/");
    await team(pageB).click();
    await pageB.getByLabel("Message Team").fill("can I talk?");
    await pageB.getByLabel("Message Team").press("Enter");
    const failed = pageB.getByTestId("pending-message").filter({ hasText: "can I talk?" });
    await failed.getByText(/muted in this conversation/).waitFor();
    await failed.getByRole("button", { name: "Discard" }).click();

    const rules = pageB.getByTestId("message").filter({ hasText: "team rules" });
    await rules.getByRole("button", { name: /^Report message/ }).click();
    const dialog = pageB.getByRole("dialog", { name: "Report message" });
    await dialog.getByLabel("What is wrong with it?").fill("testing the report");
    await axe(pageB, "report dialog");
    await dialog.getByRole("button", { name: "Report", exact: true }).click();
    await dialog.getByText("The administrators will look at it").waitFor();
    await dialog.getByRole("button", { name: "Close", exact: true }).first().click();

    await pageA.getByRole("link", { name: "Admin" }).click();
    await pageA.getByRole("tab", { name: "Reports" }).click();
    const row = pageA.getByTestId("reports").getByRole("row").filter({ hasText: "testing the report" });
    await row.getByText("team rules").waitFor();
    await axe(pageA, "admin reports");
    await row.getByRole("button", { name: /^Delete message/ }).click();
    await row.waitFor({ state: "detached" });
    await pageB.getByTestId("message").filter({ hasText: "Message deleted" }).first().waitFor();
  });

  test("works on a 360 px phone screen", async () => {
    const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    await page.goto(server.url + "/");
    await page.getByLabel("Username").fill("bob_e2e");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    // A phone shows the list first; the welcome pane is for wide screens.
    await page.getByRole("heading", { name: "Conversations" }).waitFor();
    assert.equal(await page.getByRole("heading", { name: "Welcome, Bob" }).isVisible(), false);
    await page.getByTestId("conversation-link").filter({ hasText: "Alice" }).click();
    await page.getByLabel("Message Alice").waitFor();
    await page.getByTestId("message-body").filter({ hasText: "hello bob" }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
    await page.getByLabel("Message Alice").fill("from my phone");
    await page.getByRole("button", { name: "Send" }).click();
    await pageA.getByRole("link", { name: /Alice/ }).first().waitFor();
    await axe(page, "phone conversation");
    await shot(page, "11-phone");
    await page.getByRole("link", { name: "Back to conversations" }).click();
    await page.getByRole("heading", { name: "Conversations" }).waitFor();
    await phone.close();
  });
});
