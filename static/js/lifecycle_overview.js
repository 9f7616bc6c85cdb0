/* The lifecycle overview's chart: moves into each stage in the period. Data comes from a json_script tag. */
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("lifecycle-overview-data");
    var canvas = document.getElementById("lifecycle-overview-chart");
    if (!source || !canvas || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var styles = getComputedStyle(document.documentElement);
    function color(name, fallback) {
      return styles.getPropertyValue(name).trim() || fallback;
    }
    Chart.defaults.font.family = color("--bs-body-font-family", Chart.defaults.font.family);
    Chart.defaults.color = color("--bs-secondary-color", "#6c757d");

    // Long stage names go on several lines instead of overlapping: "Nurture & Educate" -> ["Nurture &", "Educate"].
    function wrap(label) {
      var lines = [];
      String(label).split(" ").forEach(function (word) {
        var last = lines.length - 1;
        if (last >= 0 && (lines[last] + " " + word).length <= 12) {
          lines[last] += " " + word;
        } else {
          lines.push(word);
        }
      });
      return lines.length > 1 ? lines : label;
    }

    function series(label, values, background) {
      return { label: label, data: values, backgroundColor: background, borderRadius: 4, maxBarThickness: 28 };
    }

    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          series("Entered", data.entered, color("--lc-accent", "#4f8cff")),
          series("Forward in", data.forward, color("--lc-stage-forward", "#198754")),
          series("Backward in", data.backward, color("--lc-stage-backward", "#d97706")),
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: {
            grid: { display: false },
            ticks: {
              maxRotation: 0,
              autoSkip: false,
              callback: function (value) {
                return wrap(this.getLabelForValue(value));
              },
            },
          },
          y: {
            beginAtZero: true,
            ticks: { precision: 0 },
            grid: { color: color("--bs-border-color-translucent", "rgba(0,0,0,.1)") },
            border: { display: false },
          },
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
