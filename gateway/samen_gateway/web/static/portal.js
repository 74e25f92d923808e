// Progressive enhancement only: every form also works with its submit button and no script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select.auto-submit").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
});
