// Applies the stored theme before the first paint (an external file: the CSP forbids inline scripts).
(function () {
  var stored = null;
  try {
    stored = localStorage.getItem("mm-theme");
  } catch {
    stored = null;
  }
  var dark =
    stored === "dark" ||
    (stored !== "light" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
})();
