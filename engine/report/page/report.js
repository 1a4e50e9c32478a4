(function () {
  var q = document.getElementById("buscar");
  var course = document.getElementById("filtro-curso");
  var outcome = document.getElementById("filtro-resultado");
  var shown = document.getElementById("mostrando");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#tabla-alumnos tbody tr"));
  function norm(s) {
    return s.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }
  function compact(s) {
    return s.replace(/[.\-\s]/g, "");
  }
  rows.forEach(function (r) { r.searchText = norm(r.getAttribute("data-search")); });
  function apply() {
    var t = norm(q.value.trim()), n = 0;
    rows.forEach(function (r) {
      var ok = (!course.value || r.getAttribute("data-course") === course.value) &&
        (!outcome.value || r.getAttribute("data-outcome") === outcome.value) &&
        (!t || r.searchText.indexOf(t) >= 0 || (compact(t) !== "" && compact(r.searchText).indexOf(compact(t)) >= 0));
      r.hidden = !ok;
      if (ok) { n++; }
    });
    if (n === rows.length) {
      shown.textContent = rows.length === 1 ? "Se muestra el único alumno" : "Se muestran los " + rows.length + " alumnos";
    } else {
      shown.textContent = "Se muestran " + n + " de " + rows.length + (rows.length === 1 ? " alumno" : " alumnos");
    }
  }
  q.addEventListener("input", apply);
  course.addEventListener("change", apply);
  outcome.addEventListener("change", apply);
  apply();
})();
