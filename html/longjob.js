/*
 * longjob.js: watch a longjob job from any page, over Server-Sent Events.
 * One file, no dependencies, no build step; plain ES2017.
 *
 *   var w = LongJob.watch(progressUrl, {
 *     state: function (d) {},      // the whole picture; first on each fresh connection
 *     progress: function (d) {},   // {progress, message, step, eta_s}
 *     step: function (d) {},       // {step, label, index, total}
 *     log: function (d) {},        // {line}
 *     end: function (d) {},        // {state, result, error}; the stream is closed already
 *     connection: function (s) {}  // "open" | "reconnecting" | "closed" (given up)
 *   });
 *   w.close();
 *
 * To resume from an event id kept from before, add ?lastEventId=N to the
 * URL: the stream then starts with the events after N instead of `state`.
 * Each event handler gets the event's data and, second, its id (a string:
 * the store's sequence number, increasing).
 *
 *   LongJob.attach(form, handlers)  // the form posts with fetch, then its job is watched
 *   LongJob.submit(form, handlers)  // the same, once: a promise of the watcher
 *   LongJob.cancel(cancelUrl)       // POST <submit>/<id>/cancel: a promise of true/false
 *
 * One connection per job, and nothing else: browsers allow six HTTP/1.1
 * connections per host across all tabs, and a seventh request hangs without
 * an error, so a page must not hold a second connection per job. Everything
 * a page shows comes from this stream; the end event carries the result.
 *
 * Resuming: EventSource reconnects by itself after a dropped connection or
 * when the server ends a stream at its lifetime, and sends the last event id
 * (Last-Event-ID); the server replays exactly the events after it. But
 * EventSource gives up for good on any answer that is not a stream (a 502
 * from a proxy while the backend restarts, say). Then we ask once what the
 * answer is, with the id we have, and either connect again (backing off
 * while the server errs) or report "closed" (204, 404: nothing more to come).
 * After `end` we close the EventSource ourselves; otherwise the browser would
 * reconnect when the server closes the stream.
 */
(function () {
  "use strict";

  var KINDS = ["state", "progress", "step", "log", "end"];
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 30000;

  /* url with ?lastEventId=id (for the first request; EventSource then
   * sends the header itself, which the server prefers), or without it
   * when id is null. */
  function withLastId(url, id) {
    var u = new URL(url, document.baseURI);
    if (id === null)
      u.searchParams.delete("lastEventId");
    else
      u.searchParams.set("lastEventId", id);
    return u.href;
  }

  function watch(progressUrl, handlers) {
    var h = handlers || {};
    var closed = false;
    var status = null;
    var lastId = null;
    var failures = 0;
    var timer = null;
    var es = null;

    function call(name, arg, id) {
      if (!closed && typeof h[name] === "function")
        h[name](arg, id);
    }

    /* Tells the page about the connection, once per change. */
    function setStatus(s) {
      if (s === status)
        return;
      status = s;
      call("connection", s);
    }

    function close() {
      closed = true;
      clearTimeout(timer);
      if (es)
        es.close();
    }

    function giveUp() {
      setStatus("closed");
      close();
    }

    function onEvent(kind, ev) {
      var data;
      if (ev.lastEventId)
        lastId = ev.lastEventId;
      try {
        data = JSON.parse(ev.data);
      } catch (e) {
        /* E.g. an error page a front end appended to the stream. */
        console.warn("longjob: ignoring " + kind + " event " +
                     "with unparsable data", ev.data);
        return;
      }
      if (data === null || typeof data !== "object") {
        console.warn("longjob: ignoring " + kind + " event " +
                     "whose data is not an object", ev.data);
        return;
      }
      if (kind === "end") {
        /* Close before the handler runs, so that even a handler that
         * throws cannot leave the browser reconnecting. */
        es.close();
        try {
          call("end", data, ev.lastEventId);
        } finally {
          close();
        }
        return;
      }
      call(kind, data, ev.lastEventId);
    }

    function connect(url) {
      es = new EventSource(url);
      es.addEventListener("open", function () {
        failures = 0;
        setStatus("open");
      });
      es.addEventListener("error", function () {
        if (closed)
          return;
        /* CONNECTING: the browser reconnects by itself. CLOSED: it gave up. */
        setStatus("reconnecting");
        if (es.readyState === EventSource.CLOSED)
          recover();
      });
      KINDS.forEach(function (kind) {
        es.addEventListener(kind, function (ev) {
          onEvent(kind, ev);
        });
      });
    }

    function retryLater() {
      var delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * Math.pow(2, failures));
      failures++;
      timer = setTimeout(recover, delay);
    }

    /*
     * The browser gave up on the stream: ask what the server answers now,
     * with only the status read (the body is dropped at once, so there is
     * still one connection at a time for this job).
     */
    function recover() {
      var url = lastId !== null ? withLastId(progressUrl, lastId) : progressUrl;
      var ctl = new AbortController();
      fetch(url, { cache: "no-store", signal: ctl.signal,
                   headers: { Accept: "text/event-stream" } })
        .then(function (res) {
          ctl.abort();
          if (closed)
            return;
          if (res.status === 200)
            connect(url);
          else if (res.status === 204)
            connect(withLastId(progressUrl, null)); /* ended: a fresh stream says how */
          else if (res.status >= 500 || res.status === 429)
            retryLater();
          else
            giveUp();               /* 404 no such job, 400 malformed */
        }, function () {
          if (!closed)
            retryLater();           /* the network, or the server is down */
        });
    }

    if (typeof window.EventSource !== "function" ||
        typeof window.fetch !== "function") {
      /* Asynchronously, so the caller has its return value first. */
      setTimeout(giveUp, 0);
      return { close: close };
    }
    connect(progressUrl);
    return { close: close };
  }

  /* POSTs to a cancel URL; a promise of true if the job was cancelled. */
  function cancel(cancelUrl) {
    return fetch(cancelUrl, { method: "POST", credentials: "same-origin",
                              headers: { Accept: "application/json" } })
      .then(function (res) {
        return res.status === 200;
      });
  }

  /* <submit>/<type> -> <submit>/<id>/cancel */
  function cancelUrlOf(action, id) {
    var u = new URL(action, document.baseURI);
    u.search = "";
    u.pathname = u.pathname.replace(/\/[^\/]*$/, "/" + id + "/cancel");
    return u.href;
  }

  /*
   * Posts the form as a script (Accept: application/json), then watches the
   * job it made. A promise of the watcher, which also has job ({id,
   * progress_url, result_url, page_url}) and cancel(). A refusal (400, 413,
   * 503...) rejects the promise with an Error whose message is the server's.
   */
  function submit(form, handlers) {
    var h = handlers || {};
    var action = form.action;
    return fetch(action, { method: "POST", body: new FormData(form),
                           credentials: "same-origin",
                           headers: { Accept: "application/json" } })
      .then(function (res) {
        return res.json().catch(function () {
          return {};
        }).then(function (d) {
          var w, err;
          if (res.status !== 202 || typeof d.id !== "string") {
            err = new Error(typeof d.error === "string" ? d.error
                            : "the server answered " + res.status);
            err.status = res.status;
            throw err;
          }
          if (typeof h.submitted === "function")
            h.submitted(d);
          w = watch(d.progress_url, h);
          w.job = d;
          w.cancel = function () {
            return cancel(cancelUrlOf(action, d.id));
          };
          return w;
        });
      });
  }

  /*
   * Turns a form into one that reports progress: on submit it posts with
   * fetch and watches the job, instead of leaving the page. handlers are
   * watch's, plus submitted(job) and error(err). Without fetch or
   * EventSource the form simply posts as it would have.
   */
  function attach(form, handlers) {
    var h = handlers || {};
    if (typeof window.fetch !== "function" ||
        typeof window.EventSource !== "function")
      return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      submit(form, h).catch(function (err) {
        if (typeof h.error === "function")
          h.error(err);
        else
          console.error("longjob: " + err.message);
      });
    });
  }

  window.LongJob = { watch: watch, submit: submit, attach: attach,
                     cancel: cancel };
})();
