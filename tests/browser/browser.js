/*
 * browser.js: the pages in a real browser, Debian's chromium driven
 * headless by playwright-core, against the real lighttpd that
 * tests/integration/browser.sh started. It prints one line per check,
 * "PASS<TAB>what" or "FAIL<TAB>what", and "# ..." notes; browser.sh turns
 * them into TAP.
 *
 * What it asserts is read from the page (the <progress> element's value,
 * the stepper's current step, the badge) as the page changes, recorded by
 * a MutationObserver installed before the page's own scripts; and from the
 * server (the image's bytes, the job's state as JSON). Every wait is
 * bounded; no sleep stands in for an assertion.
 *
 * Environment: LJ_URL (the app, no trailing slash), LJ_ARTIFACTS (the
 * screenshots go there), LJ_CSV (the sample CSV), LJ_README (its longjob.js
 * example is run as it is), LJ_CHROMIUM (default /usr/bin/chromium).
 */
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const BASE = process.env.LJ_URL + "/";
const ARTIFACTS = process.env.LJ_ARTIFACTS;
const CSV = process.env.LJ_CSV;
const README = process.env.LJ_README;
/* While working on one part: LJ_BROWSER_ONLY=testReload, say. */
const ONLY = process.env.LJ_BROWSER_ONLY || "";
/* Without these, Chromium tries to reach Google's servers and hangs on a
 * closed network. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const STEPS = ["areas", "departments", "designations", "employees",
  "schedules", "drivers", "car_assignments"];
const WAIT = { timeout: 30000 };
/* waitForFunction polls by interval, not by animation frame: a page that
 * is not in front gets no frames. */
const POLL = { timeout: 30000, polling: 50 };

let failures = 0;

function check(ok, what) {
  console.log((ok ? "PASS" : "FAIL") + "\t" + what);
  if (!ok)
    failures++;
}

function note(text) {
  console.log("# " + text);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, name + ".png"), fullPage: true });
}

/* Width and height from a PNG's IHDR, or null if the bytes are no PNG. */
function pngSize(buf) {
  const sig = "89504e470d0a1a0a";
  if (buf.length < 24 || buf.subarray(0, 8).toString("hex") !== sig ||
      buf.subarray(12, 16).toString("latin1") !== "IHDR")
    return null;
  return buf.readUInt32BE(16) + "x" + buf.readUInt32BE(20);
}

/*
 * Installed in every page before its scripts: records, at each change of
 * the job page, the bar's value, the current step and whether the
 * "connection lost" notice was shown, in window.__lj.
 */
function recorder() {
  window.__lj = { bars: [], steps: [], firstSteps: null, subSeen: false,
                  connShown: false, said: [] };
  document.addEventListener("DOMContentLoaded", function () {
    var job = document.getElementById("job");
    var live = document.getElementById("announce");
    var r = window.__lj;
    if (!job)
      return;
    new MutationObserver(function () {
      r.said.push(live.textContent);
    }).observe(live, { subtree: true, childList: true, characterData: true });
    function look() {
      var bar = document.getElementById("bar");
      var cur = document.querySelector("#steps .step.running");
      var list = document.querySelectorAll("#steps .step");
      if (r.bars[r.bars.length - 1] !== bar.value)
        r.bars.push(bar.value);
      if (cur && r.steps[r.steps.length - 1] !== cur.getAttribute("data-step"))
        r.steps.push(cur.getAttribute("data-step"));
      if (r.firstSteps === null && list.length > 0)
        r.firstSteps = Array.prototype.map.call(list, function (li) {
          return li.getAttribute("data-step") + ":" + li.className;
        });
      if (document.querySelector("#steps .step.running .sub progress"))
        r.subSeen = true;
      if (!document.getElementById("conn").hidden)
        r.connShown = true;
    }
    new MutationObserver(look).observe(job, { subtree: true, childList: true,
      characterData: true, attributes: true });
  });
}

/* Fills and submits a demo form; resolves once on the job page, with its id. */
async function submitForm(page, form, fields, file) {
  await page.goto(BASE + form);
  for (const [k, v] of Object.entries(fields))
    await page.fill("#" + k, String(v));
  if (file)
    await page.setInputFiles("#csv", file);
  await Promise.all([
    page.waitForURL(/job\.html\?id=[0-9a-f]{32}$/, WAIT),
    page.click("button[type=submit]"),
  ]);
  return new URL(page.url()).searchParams.get("id");
}

/* A GET of the test's own, sent again once if the connection it went out on
 * was closed under it, as a browser does for a request that is safe to
 * repeat: a socket kept alive from an earlier request, which lighttpd closes
 * after its idle time just as this one goes out, fails as "socket hang up"
 * (seen twice in full runs, Connection: close on this request or not). */
async function get(ctx, url, headers) {
  const opts = { headers: Object.assign({ Connection: "close" }, headers), timeout: 30000 };
  try {
    return await ctx.request.get(url, opts);
  } catch (e) {
    if (!/socket hang up|ECONNRESET/.test(String(e)))
      throw e;
    return await ctx.request.get(url, opts);
  }
}

/* The state of an ended job, from the result program (JSON; it would wait
 * for a job that has not ended). */
async function serverState(ctx, id) {
  const res = await get(ctx, BASE + "longjob/result/" + id, { Accept: "application/json" });
  return (await res.json()).state;
}

/* Fetches an image URL; its PNG size, or null. */
async function fetchPngSize(ctx, url) {
  const res = await get(ctx, url, {});
  return res.status() === 200 ? pngSize(await res.body()) : null;
}

async function imageShown(page) {
  await page.waitForFunction(function () {
    var img = document.querySelector("#outcome figure img");
    return img && img.complete && img.naturalWidth > 0;
  }, null, POLL);
  return page.$eval("#outcome figure img", function (img) {
    return { size: img.naturalWidth + "x" + img.naturalHeight, src: img.src };
  });
}

/* The render form: the bar moves, the ETA and elapsed time show, the image comes. */
async function testRender(ctx) {
  const page = await ctx.newPage();
  const id = await submitForm(page, "render.html", { seconds: 6, width: 200, height: 120 });
  check(true, "render: the form leads to the job page (" + id + ")");
  await page.waitForFunction(function () {
    var v = document.getElementById("bar").value;
    return v >= 30 && v <= 80 && /left$/.test(document.getElementById("eta").textContent);
  }, null, POLL);
  const mid = await page.evaluate(function () {
    return { badge: document.getElementById("state").textContent,
             elapsed: document.getElementById("elapsed").textContent,
             eta: document.getElementById("eta").textContent,
             message: document.getElementById("message").textContent,
             pct: document.getElementById("pct").textContent,
             bar: document.getElementById("bar").value,
             cancel: !document.getElementById("cancel-form").hidden };
  });
  await shot(page, "render-mid");
  check(mid.badge === "Running" && mid.cancel,
        "render: mid-job the badge says Running and Cancel is offered (" + mid.badge + ")");
  check(/^Elapsed \d+:\d\d$/.test(mid.elapsed) && /^about \d+:\d\d left$/.test(mid.eta),
        "render: elapsed time and an estimate are shown (" + mid.elapsed + ", " + mid.eta + ")");
  check(/^rendering row \d+ of 120$/.test(mid.message) &&
        mid.pct === Math.floor(mid.bar) + " %",
        "render: the handler's message and the percentage (" + mid.message + ", " + mid.pct + ")");
  const img = await imageShown(page);
  const rec = await page.evaluate(function () { return window.__lj; });
  const between = rec.bars.filter(function (v) { return v > 0 && v < 100; });
  check(new Set(rec.bars).size >= 3 && between.length >= 1,
        "render: the bar took " + new Set(rec.bars).size + " distinct values before the image: " +
        rec.bars.map(Math.round).join(" "));
  check(img.size === "200x120", "render: the image decodes at the requested 200x120 (" + img.size + ")");
  check(await fetchPngSize(ctx, img.src) === "200x120", "render: its bytes are a PNG with IHDR 200x120");
  check(!rec.connShown, "render: routine reconnects (a 4 s stream lifetime) never showed 'connection lost'");
  const quarters = rec.said.filter(function (t) { return /percent done/.test(t); });
  check(quarters.length >= 1 && quarters.length <= 3 && rec.said.length <= 5 &&
        rec.said[rec.said.length - 1] === "The job is done.",
        "render: screen readers hear each quarter and the end, not every tick: " + rec.said.join(" | "));
  const end = await page.evaluate(function () {
    return { badge: document.getElementById("state").textContent,
             elapsed: document.getElementById("elapsed").textContent,
             cancel: !document.getElementById("cancel-form").hidden };
  });
  check(end.badge === "Done" && /^Took \d+:\d\d$/.test(end.elapsed) && !end.cancel,
        "render: at the end, Done, how long it took, no Cancel (" + end.badge + ", " + end.elapsed + ")");
  await shot(page, "render-end");
  await page.close();
}

/*
 * Queue, cancel and import together: two slow renders fill both running
 * slots, so the import posted next waits in the queue with its declared
 * steps; cancelling the renders (one from its page's button) lets it run.
 */
async function testQueueCancelImport(ctx) {
  const blocker = await ctx.newPage();
  const a = await submitForm(blocker, "render.html", { seconds: 120, width: 64, height: 48 });
  await blocker.waitForFunction(function () {
    return document.getElementById("state").textContent === "Running";
  }, null, POLL);
  const res = await ctx.request.post(BASE + "longjob/submit/render", {
    headers: { Accept: "application/json", Origin: new URL(BASE).origin },
    form: { seconds: "120", width: "64", height: "48" }, timeout: 30000 });
  const b = (await res.json()).id;
  const other = await ctx.newPage();
  await other.goto(BASE + "job.html?id=" + b);
  await other.waitForFunction(function () {
    return document.getElementById("state").textContent === "Running";
  }, null, POLL);
  /* Pages not in front get no animation frames and slower timers: each
   * wait below brings its page to the front first. */

  /* A job ahead of the import in the queue, that leaves it. */
  const ahead = await ctx.request.post(BASE + "longjob/submit/render", {
    headers: { Accept: "application/json" }, form: { seconds: "0" }, timeout: 30000 });
  const c = (await ahead.json()).id;

  const page = await ctx.newPage();
  const id = await submitForm(page, "import.html", { seconds: 3 }, CSV);
  await page.waitForFunction(function () {
    return document.getElementById("state").textContent === "Queued" &&
           document.querySelectorAll("#steps .step").length === 7;
  }, null, POLL);
  const queued = await page.evaluate(function () {
    return { queue: document.getElementById("queue").textContent,
             pending: document.querySelectorAll("#steps .step.pending").length };
  });
  await shot(page, "import-queued");
  check(queued.queue === "Number 2 in the queue." && queued.pending === 7,
        "queue: the import waits, shows its place (" + queued.queue + ") and its 7 declared steps, pending");
  const left = await ctx.request.post(BASE + "longjob/submit/" + c + "/cancel", {
    headers: { Accept: "application/json" }, timeout: 30000 });
  check(left.status() === 200, "queue: the job ahead of it is cancelled while it waits");
  await page.waitForFunction(function () {
    return document.getElementById("queue").textContent === "Number 1 in the queue.";
  }, null, { timeout: 20000, polling: 50 });
  check(true, "queue: the page moves the import up, though no event came for it");

  /* From the keyboard: Tab reaches the button, Enter presses it. */
  await blocker.bringToFront();
  let focused = null;
  for (let i = 0; i < 10 && focused !== "cancel"; i++) {
    await blocker.keyboard.press("Tab");
    focused = await blocker.evaluate(function () { return document.activeElement.id; });
  }
  check(focused === "cancel", "keyboard: Tab reaches the Cancel button");
  await blocker.keyboard.press("Enter");
  await blocker.waitForFunction(function () {
    return document.getElementById("state").textContent === "Cancelled" &&
           document.querySelector("#outcome-body p.cancelled") !== null;
  }, null, POLL);
  check(await serverState(ctx, a) === "cancelled",
        "cancel: the Cancel button cancels the running job; the page says so and the server agrees");
  await shot(blocker, "cancelled");
  const cancelled = await ctx.request.post(BASE + "longjob/submit/" + b + "/cancel", {
    headers: { Accept: "application/json", Origin: new URL(BASE).origin }, timeout: 30000 });
  check(cancelled.status() === 200, "cancel: the second render is cancelled too, as a script would");
  await other.bringToFront();
  await other.waitForFunction(function () {
    return document.getElementById("state").textContent === "Cancelled";
  }, null, POLL);
  check(true, "cancel: and its page, open meanwhile, follows");
  await blocker.close();
  await other.close();

  await page.bringToFront();
  /* From the recorder: a step lasts 0.4 s, polling could miss it. */
  await page.waitForFunction(function () {
    return window.__lj.steps.indexOf("employees") >= 0;
  }, null, POLL);
  await shot(page, "import-mid");
  await page.waitForSelector("#outcome table.summary", WAIT);
  const rec = await page.evaluate(function () { return window.__lj; });
  check(rec.firstSteps !== null && rec.firstSteps.length === 7 &&
        rec.firstSteps.every(function (s) { return /step pending$/.test(s); }),
        "import: the first picture already had the 7 declared steps, all pending");
  check(JSON.stringify(rec.steps) === JSON.stringify(STEPS),
        "import: the current step advanced through the steps in order: " + rec.steps.join(" "));
  check(rec.subSeen, "import: the current step showed its own progress (N of M)");
  const end = await page.evaluate(function () {
    var rows = {};
    document.querySelectorAll("#outcome table.summary tbody tr").forEach(function (tr) {
      rows[tr.querySelector("th").textContent] = tr.querySelector("td").textContent;
    });
    return { rows: rows,
             done: document.querySelectorAll("#steps .step.done").length,
             durs: Array.prototype.map.call(document.querySelectorAll("#steps .step .dur"),
                                            function (d) { return d.textContent; }) };
  });
  const csvRows = fs.readFileSync(CSV, "utf8").split("\n").filter(Boolean).length - 1;
  check(end.done === 7 && end.durs.every(function (d) { return /^\d+\.\d s$/.test(d); }),
        "import: at the end all 7 steps are done, each with its time: " + end.durs.join(", "));
  const wide = await page.evaluate(function () {
    return document.documentElement.scrollWidth - window.innerWidth;
  });
  check(wide <= 0, "phone width (412 px): nothing sticks out sideways (" + wide + " px)");
  check(end.rows.Employees === String(csvRows),
        "import: the summary counts the " + csvRows + " employees (" + end.rows.Employees + ")");
  await shot(page, "import-end");
  await page.close();
  note("import job " + id);
}

/* The job page's text that must survive a reload: log lines must be consecutive. */
async function logLines(page) {
  return page.evaluate(function () {
    var t = document.getElementById("log").textContent;
    return t === "" ? [] : t.split("\n");
  });
}

function consecutive(lines) {
  for (let i = 1; i < lines.length; i++)
    if (lines[i] !== "line " + (Number(lines[i - 1].slice(5)) + 1))
      return false;
  return lines.length > 0;
}

/*
 * Reload mid-job, a second tab, and a lost connection: the picture comes
 * back as it was, and the log has no line lost or repeated.
 */
async function testReload(ctx) {
  const page = await ctx.newPage();
  const res = await ctx.request.post(BASE + "longjob/submit/ticker", {
    headers: { Accept: "application/json" }, form: {}, timeout: 30000 });
  const id = (await res.json()).id;
  await page.goto(BASE + "job.html?id=" + id);
  await page.click("#log-box summary");
  await page.waitForFunction(function () {
    return document.getElementById("bar").value >= 20;
  }, null, POLL);
  const before = await page.evaluate(function () {
    return { bar: document.getElementById("bar").value,
             lines: document.getElementById("log").textContent.split("\n").length };
  });
  /* The page opened after the job had begun: its log starts there. */
  const first = Number((await logLines(page))[0].slice(5));
  await page.reload();
  const after = await page.evaluate(function () {
    return { bar: document.getElementById("bar").value,
             badge: document.getElementById("state").textContent,
             lines: document.getElementById("log").textContent.split("\n").length };
  });
  check(after.badge === "Running" && after.bar >= before.bar && after.lines >= before.lines,
        "reload: at once the same picture (" + before.bar + " % -> " + after.bar + " %, " +
        before.lines + " -> " + after.lines + " log lines)");

  const tab = await ctx.newPage();
  await tab.goto(BASE + "job.html?id=" + id);
  await tab.waitForFunction(function () {
    return document.getElementById("state").textContent === "Running";
  }, null, POLL);
  const [p1, p2] = [await page.$eval("#bar", function (b) { return b.value; }),
                    await tab.$eval("#bar", function (b) { return b.value; })];
  check(Math.abs(p1 - p2) <= 10, "another tab shows the same progress (" + p1 + " and " + p2 + " %)");
  await tab.close();
  await page.bringToFront();

  /* What moves stands still for those who asked for less motion (the
   * reconnecting spinner; the bar's stripes are in the same CSS block, but
   * a progress bar's pseudo-elements have no computed style to read). */
  const moving = async function () {
    return page.evaluate(function () {
      return getComputedStyle(document.querySelector("#conn .spinner")).animationName;
    });
  };
  const normal = await moving();
  await page.emulateMedia({ reducedMotion: "reduce" });
  const reduced = await moving();
  await page.emulateMedia({ reducedMotion: "no-preference" });
  check(normal === "longjob-spin" && reduced === "none",
        "prefers-reduced-motion stops the animations (" + normal + " -> " + reduced + ")");

  /* Lost: no progress connection gets through; the stream ends at its
   * 4 s lifetime and cannot come back until the route is lifted. */
  await page.route("**/longjob/progress/**", function (route) {
    return route.abort("connectionrefused");
  });
  await page.waitForSelector("#conn:not([hidden])", WAIT);
  const lost = await page.textContent("#conn");
  await shot(page, "connection-lost");
  check(/Connection lost, reconnecting/.test(lost), "a lost connection is shown: " + lost.trim());
  await page.unroute("**/longjob/progress/**");
  await page.waitForSelector("#conn", { state: "hidden", timeout: 30000 });
  check(true, "the notice clears itself once the stream is back");
  await page.waitForFunction(function () {
    return document.getElementById("state").textContent === "Done";
  }, null, POLL);
  const lines = await logLines(page);
  const count = await page.textContent("#log-count");
  check(consecutive(lines) && lines[lines.length - 1] === "line 80" &&
        count === "(last 50 of " + (80 - first + 1) + " lines)",
        "after a reload, a second tab and a lost connection the log has every line from " +
        "line " + first + " once: " + lines[0] + " .. " + lines[lines.length - 1] + " " + count);
  await page.reload();
  await page.waitForFunction(function () {
    return document.getElementById("state").textContent === "Done";
  }, null, POLL);
  const again = await logLines(page);
  check(JSON.stringify(again) === JSON.stringify(lines),
        "reloading an ended job shows its result and the same log tail");
  await page.close();
}

/* Without JavaScript: the form posts, the answer is the result page with the image. */
async function testNoScript(browser) {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(BASE + "render.html");
  await page.fill("#seconds", "2");
  await page.fill("#width", "96");
  await page.fill("#height", "64");
  await Promise.all([
    page.waitForURL(/longjob\/result\/[0-9a-f]{32}$/, WAIT),
    page.click("button[type=submit]"),
  ]);
  await page.waitForFunction(function () {
    var img = document.querySelector("figure img");
    return img && img.complete && img.naturalWidth > 0;
  }, null, POLL).catch(function () {});
  /* waitForFunction needs no page script, but be sure of what is shown. */
  const shown = await page.evaluate(function () {
    var img = document.querySelector("figure img");
    return { state: (document.getElementById("state") || {}).textContent,
             size: img ? img.naturalWidth + "x" + img.naturalHeight : null,
             src: img ? img.src : null };
  });
  check(shown.state === "succeeded" && shown.size === "96x64",
        "no JavaScript: the form's answer is the result page, succeeded, with the image at 96x64 (" +
        shown.state + ", " + shown.size + ")");
  check(shown.src !== null && await fetchPngSize(ctx, shown.src) === "96x64",
        "no JavaScript: the image's bytes are a PNG of the requested size");
  await shot(page, "nojs-result");
  await page.goto(BASE + "job.html?id=0123456789abcdef0123456789abcdef");
  check(/needs JavaScript/.test(await page.textContent("main")),
        "no JavaScript: the job page says what it needs instead of showing nothing");
  await ctx.close();
}

/* The README's longjob.js example, run as it is, turns a form into one that reports progress. */
async function testReadmeExample(ctx) {
  const readme = fs.readFileSync(README, "utf8");
  const m = /<!-- example: longjob\.js -->\s*```html\n([\s\S]*?)```/.exec(readme);
  check(m !== null, "README: the longjob.js example is there");
  if (!m)
    return;
  const page = await ctx.newPage();
  await page.goto(BASE + "index.html");
  await page.setContent(m[1]);
  await page.waitForFunction(function () { return typeof window.LongJob === "object"; }, null, POLL);
  await page.fill("input[name=seconds]", "2");
  const url = page.url();
  const bars = [];
  await page.exposeFunction("__bar", function (v) { bars.push(v); });
  await page.evaluate(function () {
    var bar = document.querySelector("progress");
    new MutationObserver(function () { window.__bar(bar.value); })
      .observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.click("button");
  await page.waitForFunction(function () {
    var img = document.querySelector("img");
    return img && img.complete && img.naturalWidth > 0;
  }, null, POLL);
  check(page.url() === url, "README example: the page stays where it is (no navigation)");
  check(new Set(bars).size >= 3, "README example: its bar moved (" + new Set(bars).size + " values)");
  await shot(page, "readme-example");
  await page.close();
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.LJ_CHROMIUM || "/usr/bin/chromium",
    headless: true, args: FLAGS, timeout: 30000,
  });
  note("chromium " + browser.version() + ", node " + process.version);
  try {
    /* The render on a desktop, the rest at phone width: the pages must
     * work there too. */
    const desktop = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const phone = await browser.newContext({ viewport: { width: 412, height: 915 } });
    for (const ctx of [desktop, phone]) {
      ctx.setDefaultTimeout(30000);
      await ctx.addInitScript(recorder);
    }
    for (const [t, ctx] of [[testRender, desktop], [testQueueCancelImport, phone],
                            [testReload, phone], [testReadmeExample, desktop]]) {
      const t0 = Date.now();
      if (ONLY && ONLY !== t.name)
        continue;
      await t(ctx);
      note(t.name + ": " + (Date.now() - t0) + " ms");
    }
    const t0 = Date.now();
    if (!ONLY || ONLY === "testNoScript") {
      await testNoScript(browser);
      note("testNoScript: " + (Date.now() - t0) + " ms");
    }
  } finally {
    await browser.close();
  }
}

main().then(function () {
  process.exit(failures ? 1 : 0);
}, function (err) {
  check(false, "the browser test ran to its end: " + (err && err.stack || err));
  process.exit(1);
});
