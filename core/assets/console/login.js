// Natter agent console: the sign-in page. The form works without this script; it only carries
// the page the agent wanted (?next=) through the sign-in and stops double submits.
(function () {
  "use strict";
  var next = new URLSearchParams(location.search).get("next");
  if (next && next.indexOf("/agent/") === 0) {
    document.getElementById("login-next").value = next;
  }
  var form = document.getElementById("login-form");
  form.addEventListener("submit", function () {
    form.querySelector("button[type=submit]").disabled = true;
  });
})();
