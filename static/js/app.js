/* Behaviour of the dashboard's pages, kept out of the templates so that the Content Security
   Policy can forbid inline scripts (script-src 'self').

   - form[data-confirm]: asks before submitting (disconnect an account, cancel a schedule).
   - [data-print]: prints the page (the invoice print view).
   - The Reports » Request form: the chosen account's marketplaces, the report kind's text,
     the ready ranges under the dates (without script they are links that reload the form). */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm !== undefined) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (button) {
      window.print();
    }
  });

  function setUpRequestForm() {
    var account = document.getElementById("id_account");
    var kind = document.getElementById("id_kind");
    var description = document.getElementById("kind-description");
    if (account && document.querySelector("[data-account-marketplaces]")) {
      account.addEventListener("change", function () {
        // Show (and submit) only the chosen account's marketplaces; all ticked, as on first load.
        document.querySelectorAll("[data-account-marketplaces]").forEach(function (group) {
          var current = group.dataset.accountMarketplaces === account.value;
          group.hidden = !current;
          group.disabled = !current;
          if (current) {
            group.querySelectorAll("input[type=checkbox]").forEach(function (box) {
              box.checked = true;
            });
          }
        });
      });
    }
    var start = document.getElementById("id_start");
    var end = document.getElementById("id_end");
    document.querySelectorAll("a.range-preset").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (!start || !end) {
          return;
        }
        event.preventDefault();
        start.value = link.dataset.start;
        end.value = link.dataset.end;
        // The preview (htmx, on the fields' container) follows a change of the fields.
        end.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
    if (account) {
      account.addEventListener("change", function () {
        // "Since Import orders from" is the chosen account's.
        document.querySelectorAll("a.range-preset[data-account]").forEach(function (link) {
          link.hidden = link.dataset.account !== account.value;
        });
      });
    }
    if (kind && description) {
      kind.addEventListener("change", function () {
        var option = kind.options[kind.selectedIndex];
        description.textContent = option ? (option.dataset.description || "") : "";
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpRequestForm);
  } else {
    setUpRequestForm();
  }
})();
