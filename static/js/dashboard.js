/* The dashboard's chart: deals created per month. Data comes from a json_script tag. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("deals-per-month-data");
    var canvas = document.getElementById("deals-per-month-chart");
    if (!source || !canvas || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    var accent = styles.getPropertyValue("--lc-accent").trim() || "#4f8cff";
    var muted = styles.getPropertyValue("--bs-secondary-color").trim() || "#6c757d";
    var grid = styles.getPropertyValue("--bs-border-color-translucent").trim() || "rgba(0,0,0,.1)";

    Chart.defaults.font.family = styles.getPropertyValue("--bs-body-font-family").trim() || Chart.defaults.font.family;
    Chart.defaults.color = muted;

    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          {
            label: "Deals created",
            data: data.counts,
            backgroundColor: accent,
            borderRadius: 6,
            maxBarThickness: 36,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: {
          x: {
            grid: { display: false },
            ticks: {
              maxRotation: 0,
              // "Mar 2025" -> "Mar"; the year goes under the first month and under each January.
              callback: function (value, index) {
                var parts = String(this.getLabelForValue(value)).split(" ");
                var january = /-01$/.test(data.months[index] || "");
                return index === 0 || january ? parts : parts[0];
              },
            },
          },
          y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: grid }, border: { display: false } },
        },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
