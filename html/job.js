/*
 * job.js: the logic of job.html, the page of one job.
 *
 * The page holds exactly one connection for its job, the progress stream
 * (LongJob.watch in longjob.js): browsers allow six HTTP/1.1 connections
 * per host across all tabs, so everything shown here, the result included,
 * comes from that stream. The `end` event carries the result; an image in
 * it is the only other request, made once the job is over.
 *
 * Server data is only ever put into the page with textContent (never
 * innerHTML), and URLs from the server are used only if they are http(s)
 * or relative.
 */
(function () {
  "use strict";

  var LOG_KEEP = 50;            /* log lines kept and shown */
  var STEP_STATUSES = ["done", "running", "pending", "failed"];
  var ICONS = { done: "✓", running: "▸", pending: "○", failed: "✗",
                cancelled: "–" };

  var job = {
    id: null,
    type: null,
    state: null,
    queuePos: null,
    steps: [],                  /* [{id, label, status}] in order */
    total: null,                /* from step events, may exceed steps.length */
    progress: 0,
    sawState: false,
    ended: false
  };
  var logLines = [];
  var logSeen = 0;
  var watcher = null;

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

  function announce(text) {
    $("announce").textContent = text;
  }

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
      document.title = job.state + " · " + what;
    else
      document.title = what;
  }

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

  function formatEta(s) {
    if (typeof s !== "number" || !isFinite(s) || s < 0)
      return "";
    s = Math.round(s);
    if (s < 60)
      return "about " + s + " s left";
    return "about " + Math.floor(s / 60) + " min " + (s % 60) + " s left";
  }

  /* ---- rendering ---------------------------------------------------- */

  function showState() {
    var text = job.state || "unknown";
    if (job.state === "queued" && typeof job.queuePos === "number")
      text = "queued (position " + job.queuePos + ")";
    $("state").textContent = text;
    $("job").setAttribute("data-state", job.state || "");
    updateTitle();
  }

  function setProgress(p) {
    if (typeof p !== "number" || !isFinite(p))
      return;
    job.progress = Math.max(0, Math.min(100, p));
    $("bar").value = job.progress;
    $("bar").textContent = Math.floor(job.progress) + " %";
    /* Floor, so that 99.7 never reads as a finished 100 %. */
    $("pct").textContent = Math.floor(job.progress) + " %";
    updateTitle();
  }

  function setMessage(m) {
    if (typeof m === "string")
      $("message").textContent = m;
  }

  function setEta(s) {
    $("eta").textContent = job.state === "running" ? formatEta(s) : "";
  }

  function showSteps() {
    var list = $("steps");
    var n = job.steps.length;
    var heading = "Steps";
    var i, s, li;

    $("steps-section").hidden = n === 0;
    if (job.total && job.total > n)
      heading += " (" + n + " of " + job.total + " known)";
    $("steps-heading").textContent = heading;

    list.textContent = "";
    for (i = 0; i < n; i++) {
      s = job.steps[i];
      li = el("li", null, "step " + s.status);
      if (s.status === "running")
        li.setAttribute("aria-current", "step");
      li.appendChild(el("span", ICONS[s.status] || "", "icon"))
        .setAttribute("aria-hidden", "true");
      li.appendChild(el("span", s.label, "label"));
      li.appendChild(el("span", " (" + s.status + ")", "visually-hidden"));
      list.appendChild(li);
    }
  }

  function stepFrom(raw) {
    var id = raw && raw.id !== undefined && raw.id !== null
      ? String(raw.id) : "";
    var label = raw && typeof raw.label === "string" && raw.label !== ""
      ? raw.label : id;
    var status = raw && STEP_STATUSES.indexOf(raw.status) >= 0
      ? raw.status : "pending";
    return { id: id, label: label, status: status };
  }

  function findStep(id) {
    for (var i = 0; i < job.steps.length; i++)
      if (job.steps[i].id === id)
        return i;
    return -1;
  }

  /* Mark the running step of an ended job. */
  function settleSteps(state) {
    job.steps.forEach(function (s) {
      if (state === "succeeded")
        s.status = "done";
      else if (s.status === "running")
        s.status = state === "failed" ? "failed" : "cancelled";
    });
  }

  function showLog() {
    var pre = $("log");
    /* Follow the tail only if the reader is already at the bottom. */
    var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = logLines.join("\n");
    if (atBottom)
      pre.scrollTop = pre.scrollHeight;
    $("log-count").textContent = logSeen <= LOG_KEEP
      ? logSeen + (logSeen === 1 ? " line" : " lines")
      : "last " + LOG_KEEP + " of " + logSeen + " lines";
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
    var table, tbody, tr, keys;
    if (!sum || typeof sum !== "object" || Array.isArray(sum))
      return false;
    keys = Object.keys(sum);
    table = el("table", null, "summary");
    table.appendChild(el("caption",
      typeof result.rows === "number"
        ? "Imported from " + result.rows + " CSV rows" : "Imported"));
    tr = el("tr");
    tr.appendChild(el("th", "What")).scope = "col";
    tr.appendChild(el("th", "Records")).scope = "col";
    table.appendChild(el("thead")).appendChild(tr);
    tbody = el("tbody");
    keys.forEach(function (k) {
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
      box.appendChild(el("p", "Done.", "ok"));
      if (result && typeof result === "object") {
        /* By what the result holds rather than by job type, so that a
         * new job type that returns an image or a summary just works. */
        shown = showImage(box, result);
        shown = showSummary(box, result) || shown;
        if (!shown && Object.keys(result).length > 0)
          box.appendChild(el("pre", JSON.stringify(result, null, 2), "raw"));
      }
    } else if (state === "failed") {
      box.appendChild(el("p", "The job failed.", "error"));
      if (typeof error === "string" && error !== "")
        box.appendChild(el("pre", error, "error-text"));
    } else if (state === "cancelled") {
      box.appendChild(el("p", "The job was cancelled."));
    }
    $("outcome").hidden = false;
  }

  /* ---- the stream's events ------------------------------------------ */

  function finish(state, result, error) {
    if (job.ended)
      return;
    job.ended = true;
    job.state = state;
    if (state === "succeeded")
      setProgress(100);
    settleSteps(state);
    showSteps();
    showState();
    setEta(null);
    $("conn").textContent = "";
    showOutcome(state, result, error);
    /* The error itself can be a long stderr tail: it is on the page. */
    announce(state === "cancelled" ? "The job was cancelled."
                                   : "The job " + state + ".");
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
    job.queuePos = typeof d.queue_position === "number"
      ? d.queue_position : null;
    if (Array.isArray(d.steps)) {
      job.steps = d.steps.map(stepFrom).filter(function (s) {
        return s.id !== "";
      });
      showSteps();
    }
    if (typeof d.state === "string")
      job.state = d.state;
    setProgress(d.progress);
    setMessage(d.message);
    showState();
    setEta(d.eta_s);
    if (isTerminal(job.state)) {
      /* A fresh connection to an ended job: the state has it all. */
      finish(job.state, d.result, d.error);
    } else if (prev && prev !== job.state) {
      announce("The job is " + job.state + ".");
    }
  }

  function onProgress(d) {
    if (job.ended)
      return;
    setProgress(d.progress);
    setMessage(d.message);
    setEta(d.eta_s);
  }

  function onStep(d) {
    var id, pos, i, s;
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
    /* Steps before the current one are done. */
    for (i = 0; i < job.steps.length; i++) {
      s = job.steps[i];
      if (i < pos)
        s.status = "done";
      else if (i === pos)
        s.status = "running";
      else if (s.status === "running")
        s.status = "pending";
    }
    if (typeof d.total === "number")
      job.total = d.total;
    showSteps();
    announce("Step " + (typeof d.index === "number" ? d.index : pos + 1) +
             (job.total ? " of " + job.total : "") + ": " +
             job.steps[pos].label);
  }

  function onLog(d) {
    if (d.line === undefined || d.line === null)
      return;
    logLines.push(String(d.line));
    if (logLines.length > LOG_KEEP)
      logLines.splice(0, logLines.length - LOG_KEEP);
    logSeen++;
    showLog();
  }

  function onEnd(d) {
    finish(typeof d.state === "string" ? d.state : "failed",
           d.result, d.error);
  }

  function onConnection(status) {
    var conn = $("conn");
    if (job.ended)
      return;
    if (status === "open") {
      conn.textContent = "";
    } else if (status === "reconnecting") {
      /* Routine: the server ends a stream before the host's time limit
       * and the browser resumes it where it left off. */
      conn.textContent = "(reconnecting…)";
    } else if (status === "closed") {
      conn.textContent = "";
      lostStream();
    }
  }

  /* The browser gave up on the stream for good (204, 404, ...). */
  function lostStream() {
    var box = $("outcome-body");
    var p, a;
    box.textContent = "";
    /* Whatever the last state said, it is not live any more. */
    $("job").setAttribute("data-state", "");
    $("eta").textContent = "";
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

  /* ---- start -------------------------------------------------------- */

  function main() {
    var id = new URLSearchParams(window.location.search).get("id");
    var bad = $("bad-id");
    var p, a1, a2;
    if (id === null || !/^[0-9a-f]{32}$/.test(id)) {
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
      return;
    }
    job.id = id;
    $("job-id").textContent = id;
    $("job").hidden = false;
    watcher = window.LongJob.watch("longjob/progress/" + id, {
      state: onState,
      progress: onProgress,
      step: onStep,
      log: onLog,
      end: onEnd,
      connection: onConnection
    });
  }

  main();
})();
