/* QB Connect's one script.

   The page shows inside Airflow's own navigation, in a frame that Airflow 3 sandboxes without top
   navigation or popups (sandbox "allow-scripts allow-same-origin allow-forms allow-downloads").
   Two kinds of pages need the whole window: Intuit's consent page, which refuses to be framed, and
   Airflow's own pages (a DAG run). Links marked data-top are therefore followed by the Airflow page
   around the frame, which has the same origin; outside a frame they are ordinary links.
   A link marked data-follow is followed as soon as the page loads (the way out to Intuit).
   A checkbox marked data-autosave submits its form when ticked (its Save button is for browsers
   without scripts). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var host = null;
  try {
    if (window.parent !== window && window.frameElement) host = window.parent.document;
  } catch (err) {
    host = null; // framed by another origin: nothing to do but follow links in place
  }
  if (host) document.documentElement.classList.add("in-airflow"); // Airflow's own menu is around

  function follow(href) {
    if (!host) {
      window.location.assign(href);
      return;
    }
    var link = host.createElement("a");
    link.href = href;
    link.hidden = true;
    host.body.appendChild(link);
    link.click();
    link.remove();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-top]") : null;
    if (!link || !host || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    follow(link.href);
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-autosave]") && box.form) box.form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var next = document.querySelector("a[data-follow]");
    if (next) follow(next.href);
  });
})();
