/*
 * longjob.js: watch one longjob job over Server-Sent Events.
 *
 *   var w = LongJob.watch("longjob/progress/" + id, {
 *     state: function (d) {},      // the whole picture; first on each fresh connection
 *     progress: function (d) {},   // {progress, message, step, eta_s}
 *     step: function (d) {},       // {step, label, index, total}
 *     log: function (d) {},        // {line}
 *     end: function (d) {},        // {state, result, error}; the stream is closed already
 *     connection: function (s) {}  // "open" | "reconnecting" | "closed"
 *   });
 *   w.close();
 *
 * One EventSource per job, and nothing else: browsers allow six HTTP/1.1
 * connections per host across all tabs, and a seventh request hangs without
 * an error, so a page must not hold a second connection per job. Everything
 * a page shows comes from this stream; the end event carries the result.
 *
 * Reconnecting is left to EventSource itself: it resends the last event id
 * (Last-Event-ID) and the server replays exactly the events after it. After
 * `end` we close the EventSource ourselves; otherwise the browser would
 * reconnect when the server closes the stream (and get a 204).
 *
 * No dependencies, no build step; plain ES2017.
 */
(function () {
  "use strict";

  var KINDS = ["state", "progress", "step", "log", "end"];

  function watch(progressUrl, handlers) {
    var h = handlers || {};
    var closed = false;
    var es;

    function call(name, arg) {
      if (!closed && typeof h[name] === "function")
        h[name](arg);
    }

    function close() {
      closed = true;
      if (es)
        es.close();
    }

    if (typeof window.EventSource !== "function") {
      /* Asynchronously, so the caller has its return value first. */
      setTimeout(function () {
        if (typeof h.connection === "function")
          h.connection("closed");
      }, 0);
      return { close: close };
    }

    es = new EventSource(progressUrl);

    es.addEventListener("open", function () {
      call("connection", "open");
    });

    es.addEventListener("error", function () {
      if (closed)
        return;
      /*
       * CLOSED means the browser gave up for good: the server answered
       * 204 (the job ended before we connected), 404/400, or something
       * that is not an event stream. Otherwise it is reconnecting on its
       * own, which also happens routinely when the server ends a stream
       * before the host's time limit.
       */
      if (es.readyState === EventSource.CLOSED) {
        call("connection", "closed");
        closed = true;
      } else {
        call("connection", "reconnecting");
      }
    });

    KINDS.forEach(function (kind) {
      es.addEventListener(kind, function (ev) {
        var data;
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
            call("end", data);
          } finally {
            closed = true;
          }
          return;
        }
        call(kind, data);
      });
    });

    return { close: close };
  }

  window.LongJob = { watch: watch };
})();
