// Checks the ID number as it is typed (length, birth date, check character: GB 11643), with
// the server's own messages (data-msg-* on the field). The server checks it again.
(function () {
  "use strict";
  var field = document.getElementById("id_number");
  if (!field) return;
  var form = field.form, out = document.getElementById("id_number-error");
  var W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], C = "10X98765432";

  function msg(key, name, value) {
    return (field.getAttribute("data-msg-" + key) || "").replace("{" + name + "}", value);
  }
  function normal(raw) { // full-width digits and X, as a Chinese input method types them
    return raw.replace(/[\uFF10-\uFF19\uFF38\uFF58]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xFEE0);
    }).replace(/\s+/g, "").toUpperCase();
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // The first problem with the number, or "" (partial: only what is typed so far).
  function problem(n, whole) {
    if (!/^[0-9]*$/.test(n.slice(0, 17)) || (n.length === 18 && !/[0-9X]$/.test(n))) {
      return msg("format", "", "");
    }
    if (n.length >= 14) {
      var y = +n.slice(6, 10), m = +n.slice(10, 12), d = +n.slice(12, 14);
      var born = new Date(y, m - 1, d);
      if (born.getFullYear() !== y || born.getMonth() !== m - 1 || born.getDate() !== d) {
        return msg("date", "digits", n.slice(6, 14));
      }
      if (y < 1900 || born > new Date()) {
        return msg("range", "born", y + "-" + pad(m) + "-" + pad(d));
      }
    }
    if (n.length !== 18) return whole ? msg("length", "length", n.length) : "";
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += W[i] * +n[i];
    var expected = C[sum % 11];
    return n[17] === expected ? "" : msg("check", "expected", expected);
  }
  function check(whole) {
    var n = normal(field.value);
    if (n !== field.value && n.length <= 18) field.value = n;
    var text = n ? problem(n, whole) : "";
    field.setCustomValidity(text);
    out.textContent = text;
    field.setAttribute("aria-invalid", text ? "true" : "false");
    field.parentNode.className = text ? "field bad" : "field";
    return !text;
  }
  field.addEventListener("input", function () { check(false); });
  field.addEventListener("blur", function () { check(true); });
  form.addEventListener("submit", function (event) {
    if (!check(true)) {
      event.preventDefault();
      field.focus();
    }
  });
})();
