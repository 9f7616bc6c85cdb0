/*
 * A form's analytics (templates/contacts/leadform_analytics.html): the chart of views and submissions per day,
 * drawn with Chart.js from the json_script tag "leadform-analytics-data". The table below the chart holds the
 * same numbers, so the page still says everything without JavaScript (and the CSP forbids inline scripts).
 */
(function () {
  "use strict";

  function cssColor(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function drawChart() {
    var source = document.getElementById("leadform-analytics-data");
    var canvas = document.getElementById("leadform-analytics-chart");
    if (!source || !canvas || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var grid = cssColor("--bs-border-color-translucent", "rgba(0,0,0,.1)");
    var accent = cssColor("--lc-accent", "#4f8cff");
    var green = cssColor("--lc-stage-forward", "#198754");
    Chart.defaults.font.family = cssColor("--bs-body-font-family", Chart.defaults.font.family);
    Chart.defaults.color = cssColor("--bs-secondary-color", "#6c757d");
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Views", data: data.views, borderColor: accent, backgroundColor: accent, tension: 0,
            pointRadius: data.labels.length > 31 ? 0 : 3 },
          { label: "Submissions", data: data.submissions, borderColor: green, backgroundColor: green, tension: 0,
            pointRadius: data.labels.length > 31 ? 0 : 3 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 }, grid: { color: grid } },
        },
      },
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawChart);
  } else {
    drawChart();
  }
})();
