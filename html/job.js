/*
 * job.js: the logic of job.html, the page of one job.
 *
 * The page holds exactly one connection for its job, the progress stream
 * (LongJob.watch in longjob.js): browsers allow six HTTP/1.1 connections
 * per host across all tabs, so everything shown here, the result included,
 * comes from that stream. The `end` event carries the result; an image in
 * it is the only other request, made once the job is over.
 *
 * Reloading, or opening the same URL in another tab, shows the same
 * picture. The page keeps its picture, log tail included, in localStorage
 * with the id of the last event it applied; a page that finds a recent
 * one (another tab is watching, or this one was just reloaded) shows it
 * and resumes the stream after that id, so that no log line is lost or
 * repeated. Otherwise it starts a fresh stream, whose first `state` event
 * has the whole picture but the log (progress, message, steps with their
 * times, queue place).
 *
 * Times: the server's timestamps (job and step start and end) are in its
 * clock; what happens live is timed with ours. If ours is behind (a
 * timestamp from the server is in our future), the difference is added.
 *
 * Server data is only ever put into the page with textContent (never
 * innerHTML), and URLs from the server are used only if they are http(s)
 * or relative.
 */
(function () {
  "use strict";

  var LOG_KEEP = 50;            /* log lines kept and shown */
  var LOG_LINE_MAX = 2000;      /* characters of a line kept in storage */
  var KEEP_DAYS = 7;            /* stored pictures older than this go */
  var RESUME_MS = 10000;        /* a stored picture this recent is resumed */
  var SAVE_MS = 250;            /* the stored picture is written this often */
  var QUEUE_LOOK_MS = 5000;    /* a queued job's place is looked at again */
  /* What a stored picture holds of `job`. */
  var SAVED = ["type", "state", "queuePos", "steps", "total", "progress",
               "message", "messageStep", "created", "started", "finished",
               "etaAt", "skew", "quarter"];
  var CONN_LOST_MS = 3000;      /* a reconnect slower than this is shown */
  var STEP_STATUSES = ["done", "running", "pending", "failed", "cancelled"];
  var ICONS = { done: "✓", running: "", pending: "", failed: "✗",
                cancelled: "–" };
  var STATE_WORDS = { queued: "Queued", running: "Running",
                      succeeded: "Done", failed: "Failed",
                      cancelled: "Cancelled" };

  var job = {
    id: null,
    type: null,
    state: null,
    queuePos: null,
    steps: [],                  /* [{id, label, status, started, finished}] */
    total: null,                /* from step events, may exceed steps.length */
    progress: 0,
    message: "",
    messageStep: null,          /* the step the message was written in */
    created: null,              /* server times, in seconds */
    started: null,
    finished: null,
    etaAt: null,                /* when the server expects the end */
    skew: 0,                    /* seconds to add to our clock */
    quarter: 0,                 /* last quarter of the progress announced */
    sawState: false,
    ended: false
  };
  var log = { lines: [], seen: 0 };
  var lastId = 0;               /* of the last event applied */
  var saveTimer = null;
  var watcher = null;
  var queueTimer = null;
  var connTimer = null;
  var ticker = null;

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null)
      e.textContent = String(text);
    if (cls)
      e.className = cls;
    return e;
  }

  function isTerminal(state) {
    return state === "succeeded" || state === "failed" ||
           state === "cancelled";
  }

  function num(v) {
    return typeof v === "number" && isFinite(v) ? v : null;
  }

  function announce(text) {
    $("announce").textContent = text;
  }

  /* ---- time ---------------------------------------------------------- */

  /* Now, in the server's clock as far as we can tell. */
  function now() {
    return Date.now() / 1000 + job.skew;
  }

  /* A server timestamp in our future means our clock is behind. */
  function noteServerTime(t) {
    var ahead = num(t) !== null ? t - Date.now() / 1000 : 0;
    if (ahead > job.skew)
      job.skew = ahead;
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /* 75 -> "1:15", 3725 -> "1:02:05" */
  function clock(s) {
    s = Math.max(0, Math.round(s));
    if (s >= 3600)
      return Math.floor(s / 3600) + ":" + pad2(Math.floor(s / 60) % 60) +
             ":" + pad2(s % 60);
    return Math.floor(s / 60) + ":" + pad2(s % 60);
  }

  /* A step's duration: tenths under ten seconds, where they matter. */
  function duration(s) {
    s = Math.max(0, s);
    if (s < 10)
      return s.toFixed(1) + " s";
    if (s < 60)
      return Math.round(s) + " s";
    return clock(s);
  }

  /* ---- the picture ---------------------------------------------------- */

  /* "render" -> "Render job" */
  function jobName() {
    var t = job.type ? String(job.type) : "";
    return t ? t.charAt(0).toUpperCase() + t.slice(1) + " job" : "Job";
  }

  /* The tab title carries the percentage, useful in a background tab. */
  function updateTitle() {
    var what = jobName() + " · longjob";
    if (job.state === "running")
      document.title = Math.floor(job.progress) + " % · " + what;
    else if (job.state)
      document.title = (STATE_WORDS[job.state] || job.state) + " · " + what;
    else
      document.title = what;
  }

  function showState() {
    var badge = $("state");
    badge.textContent = STATE_WORDS[job.state] || job.state || "unknown";
    badge.className = "badge " + (job.state || "");
    $("job").setAttribute("data-state", job.state || "");
    $("queue").hidden = !(job.state === "queued" && job.queuePos);
    if (job.queuePos)
      $("queue").textContent = "Number " + job.queuePos + " in the queue.";
    $("cancel-form").hidden = job.ended ||
      !(job.state === "queued" || job.state === "running");
    updateTitle();
    showTimes();
  }

  /* Elapsed time and the estimate, redrawn every second while it runs. */
  function showTimes() {
    var t = job.finished !== null ? job.finished : now();
    var left;
    if (job.started !== null)
      $("elapsed").textContent = (job.ended ? "Took " : "Elapsed ") +
                                 clock(t - job.started);
    else if (job.created !== null && job.state === "queued")
      $("elapsed").textContent = "Waiting " + clock(t - job.created);
    else
      $("elapsed").textContent = "";
    left = job.etaAt !== null && job.state === "running"
      ? job.etaAt - now() : null;
    $("eta").textContent = left === null ? ""
      : left < 1 ? "almost done" : "about " + clock(left) + " left";
  }

  function setEta(eta) {
    eta = num(eta);
    job.etaAt = eta !== null && eta >= 0 ? now() + eta : null;
    showTimes();
  }

  /* Announces each quarter of the way once, not every tick. */
  function announceQuarter(live) {
    var q = Math.floor(job.progress / 25);
    if (q > job.quarter && live && job.state === "running" && q < 4)
      announce(Math.floor(job.progress) + " percent done.");
    job.quarter = Math.max(job.quarter, q);
  }

  function setProgress(p, live) {
    p = num(p);
    if (p === null)
      return;
    job.progress = Math.max(0, Math.min(100, p));
    $("bar").value = job.progress;
    $("bar").textContent = Math.floor(job.progress) + " %";
    /* Floor, so that 99.7 never reads as a finished 100 %. */
    $("pct").textContent = Math.floor(job.progress) + " %";
    announceQuarter(live);
    updateTitle();
  }

  /* step: the id of the step the handler was in when it wrote m. */
  function setMessage(m, step) {
    if (typeof m !== "string")
      return;
    job.message = m;
    job.messageStep = step === undefined || step === null ? null : String(step);
    $("message").textContent = m;
    showStepProgress();
  }

  /* ---- steps ---------------------------------------------------------- */

  function stepFrom(raw) {
    var id = raw && raw.id !== undefined && raw.id !== null
      ? String(raw.id) : "";
    var label = raw && typeof raw.label === "string" && raw.label !== ""
      ? raw.label : id;
    var status = raw && STEP_STATUSES.indexOf(raw.status) >= 0
      ? raw.status : "pending";
    noteServerTime(raw && raw.started);
    noteServerTime(raw && raw.finished);
    return { id: id, label: label, status: status,
             started: num(raw && raw.started),
             finished: num(raw && raw.finished) };
  }

  function findStep(id) {
    for (var i = 0; i < job.steps.length; i++)
      if (job.steps[i].id === id)
        return i;
    return -1;
  }

  function stepTime(s) {
    if (s.started === null || s.status === "pending")
      return "";
    return duration((s.finished !== null ? s.finished : now()) - s.started);
  }

  function showSteps() {
    var list = $("steps");
    var n = job.steps.length;
    var heading = "Steps";
    var i, s, li, body;

    $("steps-section").hidden = n === 0;
    if (job.total && job.total > n)
      heading += " (" + n + " of " + job.total + " known)";
    $("steps-heading").textContent = heading;

    list.textContent = "";
    for (i = 0; i < n; i++) {
      s = job.steps[i];
      li = el("li", null, "step " + s.status);
      li.setAttribute("data-step", s.id);
      if (s.status === "running")
        li.setAttribute("aria-current", "step");
      li.appendChild(el("span", ICONS[s.status] || "", "icon"))
        .setAttribute("aria-hidden", "true");
      body = li.appendChild(el("span", null, "body"));
      body.appendChild(el("span", s.label, "label"));
      body.appendChild(el("span", " (" + s.status + ")", "visually-hidden"));
      if (s.status === "running")
        body.appendChild(el("span", null, "sub"));
      li.appendChild(el("span", stepTime(s), "dur"));
      list.appendChild(li);
    }
    showStepProgress();
  }

  /*
   * The running step's own progress, where the handler gives it: a
   * message ending in "N of M" ("employees: 120 of 300"), written in this
   * step (right after a step starts, the message is still the last one's).
   */
  function showStepProgress() {
    var sub = document.querySelector("#steps .step.running .sub");
    var m = /(\d+) of (\d+)\s*$/.exec(job.message);
    var bar, done, of;
    if (!sub)
      return;
    sub.textContent = "";
    if (!m || job.ended ||
        job.messageStep !== sub.parentNode.parentNode.getAttribute("data-step"))
      return;
    done = Number(m[1]);
    of = Number(m[2]);
    if (!(of > 0) || done > of)
      return;
    bar = el("progress");
    bar.max = of;
    bar.value = done;
    bar.setAttribute("aria-label", "Step progress");
    sub.appendChild(bar);
    sub.appendChild(el("span", done + " of " + of, "hint"));
  }

  /* Redraws the running step's time. */
  function tickSteps() {
    var li = document.querySelector("#steps .step.running");
    var i = li ? findStep(li.getAttribute("data-step")) : -1;
    if (i >= 0)
      li.querySelector(".dur").textContent = stepTime(job.steps[i]);
  }

  /* Marks the running step of an ended job. */
  function settleSteps(state) {
    var t = job.finished !== null ? job.finished : now();
    job.steps.forEach(function (s) {
      if (state === "succeeded")
        s.status = "done";
      else if (s.status === "running")
        s.status = state === "failed" ? "failed" : "cancelled";
      if (s.started !== null && s.finished === null)
        s.finished = t;
    });
  }

  /* ---- the picture, kept across reloads and shared with other tabs --- */

  function storeKey() {
    return "longjob:job:" + job.id;
  }

  function readStored() {
    try {
      return JSON.parse(window.localStorage.getItem(storeKey()) || "null");
    } catch (e) {
      return null;
    }
  }

  function save() {
    var picture = {};
    clearTimeout(saveTimer);
    saveTimer = null;
    SAVED.forEach(function (k) {
      picture[k] = job[k];
    });
    picture.ended = job.ended;
    try {
      window.localStorage.setItem(storeKey(), JSON.stringify({
        at: Date.now(), lastId: lastId, job: picture, seen: log.seen,
        lines: log.lines.map(function (l) {
          return l.slice(0, LOG_LINE_MAX);
        })
      }));
    } catch (e) {
      /* Full or forbidden: the next page load starts a fresh stream. */
    }
  }

  /* After each event, at most every SAVE_MS. */
  function saveSoon(id) {
    lastId = Math.max(lastId, Number(id) || 0);
    if (saveTimer === null)
      saveTimer = setTimeout(save, SAVE_MS);
  }

  /*
   * Shows the stored picture if it can be resumed; the event id to resume
   * after, or 0 for a fresh stream. The log tail of an ended job is
   * complete and kept; a picture too old to resume is dropped (replaying
   * much would time every step in it as taking no time).
   */
  function restore() {
    var saved = readStored();
    var fresh = saved && Date.now() - saved.at < RESUME_MS;
    if (!saved || !saved.job || !Array.isArray(saved.lines))
      return 0;
    if (saved.job.ended || fresh) {
      log.lines = saved.lines.map(String).slice(-LOG_KEEP);
      log.seen = num(saved.seen) || log.lines.length;
      showLog();
    }
    if (saved.job.ended || !fresh || !(saved.lastId > 0))
      return 0;
    SAVED.forEach(function (k) {
      if (saved.job[k] !== undefined)
        job[k] = saved.job[k];
    });
    job.sawState = true;
    lastId = saved.lastId;
    if (job.type)
      $("title").textContent = jobName();
    setProgress(job.progress, false);
    setMessage(job.message, job.messageStep);
    showSteps();
    showState();
    return lastId;
  }

  /* Old pictures go, so that storage does not grow with every job seen. */
  function prune() {
    var cutoff = Date.now() - KEEP_DAYS * 86400 * 1000;
    var i, k, v;
    try {
      for (i = window.localStorage.length - 1; i >= 0; i--) {
        k = window.localStorage.key(i);
        if (!k || k.indexOf("longjob:job:") !== 0)
          continue;
        v = JSON.parse(window.localStorage.getItem(k) || "{}");
        if (!(v.at > cutoff))
          window.localStorage.removeItem(k);
      }
    } catch (e) {
      /* storage unavailable: nothing to prune */
    }
  }

  function showLog() {
    var pre = $("log");
    /* Follow the tail only if the reader is already at the bottom. */
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = log.lines.join("\n");
    if (atBottom)
      pre.scrollTop = pre.scrollHeight;
    /* Nothing to unfold until there is a line. */
    $("log-box").hidden = log.seen === 0;
    $("log-count").textContent = "(" + (log.seen <= LOG_KEEP
      ? log.seen + (log.seen === 1 ? " line" : " lines")
      : "last " + LOG_KEEP + " of " + log.seen + " lines") + ")";
  }

  /* ---- the result ------------------------------------------------------ */

  /* A URL from the server, only if it is relative or http(s), resolved
   * against this page so that the site may live under any prefix. */
  function safeUrl(u) {
    var url;
    if (typeof u !== "string" || u === "")
      return null;
    try {
      url = new URL(u, document.baseURI);
    } catch (e) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      return null;
    return url.href;
  }

  function showImage(box, result) {
    var src = safeUrl(result.img);
    var fig, img, w, h, cap, a;
    if (!src)
      return false;
    w = Number(result.width);
    h = Number(result.height);
    fig = el("figure");
    img = el("img");
    img.alt = "The rendered image";
    /* width/height reserve the space before the image arrives; CSS keeps
     * it within the page. */
    if (w > 0 && h > 0) {
      img.width = w;
      img.height = h;
      img.alt += ", " + w + " × " + h + " pixels";
    }
    img.src = src;
    fig.appendChild(img);
    cap = el("figcaption");
    if (w > 0 && h > 0)
      cap.appendChild(document.createTextNode(w + " × " + h + " pixels. "));
    a = el("a", "Open the image");
    a.href = src;
    cap.appendChild(a);
    fig.appendChild(cap);
    box.appendChild(fig);
    return true;
  }

  /* "car_assignments" -> "Car assignments" */
  function humanKey(k) {
    var s = String(k).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function showSummary(box, result) {
    var sum = result.summary;
    var table, tbody, tr;
    if (!sum || typeof sum !== "object" || Array.isArray(sum))
      return false;
    table = el("table", null, "summary");
    table.appendChild(el("caption",
      typeof result.rows === "number"
        ? "Imported from " + result.rows + " CSV rows" : "Imported"));
    tr = el("tr");
    tr.appendChild(el("th", "What")).scope = "col";
    tr.appendChild(el("th", "Records")).scope = "col";
    table.appendChild(el("thead")).appendChild(tr);
    tbody = el("tbody");
    Object.keys(sum).forEach(function (k) {
      var v = sum[k];
      var row = el("tr");
      row.appendChild(el("th", humanKey(k))).scope = "row";
      row.appendChild(el("td", typeof v === "object" ? JSON.stringify(v) : v,
                         typeof v === "number" ? "num" : ""));
      tbody.appendChild(row);
    });
    table.appendChild(tbody);
    box.appendChild(table);
    return true;
  }

  function showOutcome(state, result, error) {
    var box = $("outcome-body");
    var shown;
    box.textContent = "";
    if (state === "succeeded") {
      if (result && typeof result === "object") {
        /* By what the result holds rather than by job type, so that a
         * new job type that returns an image or a summary just works. */
        shown = showImage(box, result);
        shown = showSummary(box, result) || shown;
        if (!shown && Object.keys(result).length > 0)
          box.appendChild(el("pre", JSON.stringify(result, null, 2), "raw"));
      }
      if (!box.firstChild)
        box.appendChild(el("p", "Done.", "ok"));
    } else if (state === "failed") {
      box.appendChild(el("p", "The job failed.", "error"));
      if (typeof error === "string" && error !== "")
        box.appendChild(el("pre", error, "error-text"));
    } else if (state === "cancelled") {
      box.appendChild(el("p", "The job was cancelled.", "cancelled"));
    }
    $("outcome").hidden = false;
  }

  /* ---- the stream's events ------------------------------------------ */

  function finish(state, result, error) {
    if (job.ended)
      return;
    job.ended = true;
    job.state = state;
    if (job.finished === null)
      job.finished = now();
    if (state === "succeeded")
      setProgress(100, false);
    settleSteps(state);
    showSteps();
    showState();
    showConnection(true);
    clearInterval(ticker);
    showOutcome(state, result, error);
    /* The error itself can be a long stderr tail: it is on the page. */
    announce(state === "cancelled" ? "The job was cancelled."
             : state === "succeeded" ? "The job is done."
             : "The job failed.");
    save();
    if (watcher)
      watcher.close();
  }

  function onState(d) {
    var prev = job.state;
    if (job.ended)
      return;
    job.sawState = true;
    if (typeof d.type === "string" && d.type) {
      job.type = d.type;
      $("title").textContent = jobName();
    }
    ["created", "started", "finished"].forEach(function (k) {
      noteServerTime(d[k]);
      job[k] = num(d[k]);
    });
    job.queuePos = num(d.queue_position);
    if (Array.isArray(d.steps)) {
      job.steps = d.steps.map(stepFrom).filter(function (s) {
        return s.id !== "";
      });
    }
    if (typeof d.state === "string")
      job.state = d.state;
    /* Quarters already behind us are not news. */
    job.quarter = Math.max(job.quarter, Math.floor((num(d.progress) || 0) / 25));
    setProgress(d.progress, false);
    setMessage(d.message, d.step);
    showSteps();
    showState();
    setEta(d.eta_s);
    if (isTerminal(job.state)) {
      /* A fresh connection to an ended job: the state has it all. */
      finish(job.state, d.result, d.error);
    } else if (prev && prev !== job.state) {
      announce("The job is " + job.state + ".");
    }
    clearTimeout(queueTimer);
    if (job.state === "queued")
      queueTimer = setTimeout(lookAtQueue, QUEUE_LOOK_MS);
  }

  /*
   * The stream sends no event while a job waits, not even when the jobs
   * ahead of it start: its place would stay what it was. So a page whose
   * job still waits opens its stream afresh now and then (closing the
   * other first: still one connection), and the new `state` says.
   */
  function lookAtQueue() {
    if (job.ended || job.state !== "queued")
      return;
    watcher.close();
    watch("");
  }

  function onProgress(d) {
    if (job.ended)
      return;
    setProgress(d.progress, true);
    setMessage(d.message, d.step);
    setEta(d.eta_s);
  }

  function onStep(d) {
    var id, pos, i, s, t = now();
    if (job.ended || d.step === undefined || d.step === null)
      return;
    id = String(d.step);
    pos = findStep(id);
    if (pos < 0) {
      /* A step the job type did not declare: put it where its index says. */
      pos = typeof d.index === "number" ? d.index - 1 : job.steps.length;
      pos = Math.max(0, Math.min(job.steps.length, pos));
      job.steps.splice(pos, 0, stepFrom({ id: id, label: d.label }));
    } else if (typeof d.label === "string" && d.label !== "") {
      job.steps[pos].label = d.label;
    }
    /* The step that ran is done now; this one starts now. */
    for (i = 0; i < job.steps.length; i++) {
      s = job.steps[i];
      if (s.status === "running" && i !== pos) {
        s.status = "done";
        s.finished = t;
      } else if (i < pos && s.status === "pending") {
        s.status = "done";
      }
    }
    s = job.steps[pos];
    if (s.status !== "running") {
      s.status = "running";
      s.started = t;
      s.finished = null;
    }
    if (typeof d.total === "number")
      job.total = d.total;
    showSteps();
    announce("Step " + (typeof d.index === "number" ? d.index : pos + 1) +
             (job.total ? " of " + job.total : "") + ": " + s.label);
  }

  function onLog(d) {
    if (d.line === undefined || d.line === null)
      return;
    log.lines.push(String(d.line));
    if (log.lines.length > LOG_KEEP)
      log.lines.splice(0, log.lines.length - LOG_KEEP);
    log.seen++;
    showLog();
  }

  function onEnd(d) {
    finish(typeof d.state === "string" ? d.state : "failed",
           d.result, d.error);
  }

  /* Each event handler, then the stored picture. */
  function saving(handler) {
    return function (d, id) {
      handler(d);
      saveSoon(id);
    };
  }

  /*
   * The "connection lost" notice: shown only when a reconnect takes longer
   * than CONN_LOST_MS, because the server ends every stream at its
   * lifetime and the browser resumes it within a couple of seconds, which
   * is not news. It clears itself once the stream is back.
   */
  function showConnection(ok) {
    clearTimeout(connTimer);
    connTimer = null;
    if (ok) {
      $("conn").hidden = true;
      return;
    }
    connTimer = setTimeout(function () {
      $("conn").hidden = false;
    }, CONN_LOST_MS);
  }

  function onConnection(status) {
    if (job.ended)
      return;
    if (status === "open")
      showConnection(true);
    else if (status === "reconnecting" && connTimer === null &&
             $("conn").hidden)
      showConnection(false);
    else if (status === "closed") {
      showConnection(true);
      lostStream();
    }
  }

  /* The stream is gone for good (404, or the job's progress was cleaned up). */
  function lostStream() {
    var box = $("outcome-body");
    var p, a;
    box.textContent = "";
    clearInterval(ticker);
    clearTimeout(queueTimer);
    /* Whatever the last state said, it is not live any more. */
    $("job").setAttribute("data-state", "");
    $("eta").textContent = "";
    $("cancel-form").hidden = true;
    if (!job.sawState) {
      job.state = null;
      $("state").textContent = "not available";
      p = el("p", "No progress is available for this job: the id is " +
                  "unknown, or the job has ended and its progress is " +
                  "gone. Its result may still be on ");
    } else {
      $("state").textContent += " (connection closed)";
      p = el("p", "The connection to the server was closed. " +
                  "Reload the page to try again, or see ");
    }
    /* Only a link: nothing is fetched unless the person follows it. */
    a = el("a", "the job's result page");
    a.href = "longjob/result/" + job.id;
    p.appendChild(a);
    p.appendChild(document.createTextNode("."));
    box.appendChild(p);
    $("outcome").hidden = false;
    announce(p.textContent);
  }

  /* ---- cancel --------------------------------------------------------- */

  function onCancel(ev) {
    var button = $("cancel");
    var msg = $("cancel-msg");
    ev.preventDefault();
    button.disabled = true;
    msg.textContent = "Cancelling…";
    window.LongJob.cancel(ev.target.action).then(function (ok) {
      /* On success the stream brings `end` (cancelled) and the page
       * follows it; here only a refusal has something to say. */
      msg.textContent = ok ? "" : "The job could not be cancelled: " +
                                  "it has probably just ended.";
      button.disabled = ok;
    }, function () {
      msg.textContent = "The server could not be reached; try again.";
      button.disabled = false;
    });
  }

  /* ---- start -------------------------------------------------------- */

  /* Opens the job's stream; query resumes it after an event id. */
  function watch(query) {
    watcher = window.LongJob.watch("longjob/progress/" + job.id + query, {
      state: saving(onState),
      progress: saving(onProgress),
      step: saving(onStep),
      log: saving(onLog),
      end: saving(onEnd),
      connection: onConnection
    });
  }

  function badId(id) {
    var bad = $("bad-id");
    var p, a1, a2;
    bad.appendChild(el("p", id === null || id === ""
      ? "This page shows one job, but no job id was given."
      : "The job id in the address is not valid: it must be 32 " +
        "lowercase hexadecimal characters."));
    p = el("p", "Start a job from the ");
    a1 = el("a", "render");
    a2 = el("a", "import");
    a1.href = "render.html";
    a2.href = "import.html";
    p.appendChild(a1);
    p.appendChild(document.createTextNode(" or "));
    p.appendChild(a2);
    p.appendChild(document.createTextNode(
      " form; you will be taken to its page."));
    bad.appendChild(p);
    bad.hidden = false;
  }

  function main() {
    var id = new URLSearchParams(window.location.search).get("id");
    var resumeId;
    if (id === null || !/^[0-9a-f]{32}$/.test(id)) {
      badId(id);
      return;
    }
    job.id = id;
    $("job-id").textContent = id;
    $("job").hidden = false;
    /* Relative URLs: the site works under any prefix. */
    $("cancel-form").action = "longjob/submit/" + id + "/cancel";
    $("cancel-form").addEventListener("submit", onCancel);
    prune();
    resumeId = restore();
    ticker = setInterval(function () {
      showTimes();
      tickSteps();
    }, 1000);
    /* A page being left writes its picture now, for the next one. */
    window.addEventListener("pagehide", function () {
      if (lastId > 0)
        save();
    });
    watch(resumeId ? "?lastEventId=" + resumeId : "");
    if (job.state === "queued")
      queueTimer = setTimeout(lookAtQueue, QUEUE_LOOK_MS);
  }

  main();
})();
