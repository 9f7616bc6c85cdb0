/*
 * The deals reports (templates/pipelines/metrics.html, review.html, calculator.html).
 *
 * - Help popovers: every [data-bs-toggle="popover"] becomes a Bootstrap popover (Bootstrap does not start
 *   them by itself, and the CSP forbids inline scripts).
 * - Metrics charts, drawn with Chart.js from the json_script tag "metrics-chart-data": value by stage,
 *   win rate by month, time in stage.
 * - The calculator: after htmx swaps in a result, each input whose error message (the out-of-band
 *   [data-field-error] elements) is not empty is marked invalid, and valid again once it is.
 */
(function () {
  "use strict";

  function startPopovers(root) {
    if (typeof bootstrap === "undefined") {
      return;
    }
    root.querySelectorAll('[data-bs-toggle="popover"]').forEach(function (element) {
      bootstrap.Popover.getOrCreateInstance(element);
    });
  }

  function cssColor(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function money(currency) {
    var format;
    try {
      format = new Intl.NumberFormat("en-US", { style: "currency", currency: currency, maximumFractionDigits: 0 });
    } catch (error) {
      format = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
    }
    return function (value) {
      return format.format(value);
    };
  }

  function drawCharts() {
    var source = document.getElementById("metrics-chart-data");
    if (!source || typeof Chart === "undefined") {
      return;
    }
    var data = JSON.parse(source.textContent);
    var asMoney = money(data.currency);
    var grid = cssColor("--bs-border-color-translucent", "rgba(0,0,0,.1)");
    var accent = cssColor("--lc-accent", "#4f8cff");
    Chart.defaults.font.family = cssColor("--bs-body-font-family", Chart.defaults.font.family);
    Chart.defaults.color = cssColor("--bs-secondary-color", "#6c757d");
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
    };

    var funnel = document.getElementById("metrics-funnel-chart");
    if (funnel) {
      new Chart(funnel, {
        type: "bar",
        data: {
          labels: data.stages,
          datasets: [
            { label: "Open value", data: data.open_value, backgroundColor: accent, borderRadius: 4, maxBarThickness: 22 },
            { label: "Weighted value", data: data.weighted_value, backgroundColor: cssColor("--lc-stage-forward", "#198754"),
              borderRadius: 4, maxBarThickness: 22 },
          ],
        },
        options: Object.assign({}, common, {
          indexAxis: "y",
          plugins: Object.assign({}, common.plugins, {
            tooltip: {
              callbacks: {
                label: function (item) {
                  var count = data.open_count[item.dataIndex];
                  return item.dataset.label + ": " + asMoney(item.raw) + " (" + count + " open)";
                },
              },
            },
          }),
          scales: {
            x: { beginAtZero: true, ticks: { callback: function (value) { return asMoney(value); } }, grid: { color: grid } },
            y: { grid: { display: false } },
          },
        }),
      });
    }

    var winRate = document.getElementById("metrics-win-rate-chart");
    if (winRate) {
      new Chart(winRate, {
        type: "line",
        data: {
          labels: data.months,
          datasets: [{ label: "Win rate", data: data.win_rate, borderColor: accent, backgroundColor: accent,
                       spanGaps: true, tension: 0, pointRadius: 3 }],
        },
        options: Object.assign({}, common, {
          plugins: Object.assign({}, common.plugins, {
            legend: { display: false },
            tooltip: {
              callbacks: {
                label: function (item) {
                  return "Win rate " + item.raw + "% (" + data.won[item.dataIndex] + " won, " +
                    data.lost[item.dataIndex] + " lost)";
                },
              },
            },
          }),
          scales: {
            x: { grid: { display: false } },
            y: { min: 0, max: 100, ticks: { callback: function (value) { return value + "%"; } }, grid: { color: grid } },
          },
        }),
      });
    }

    var time = document.getElementById("metrics-time-chart");
    if (time) {
      new Chart(time, {
        type: "bar",
        data: {
          labels: data.stages,
          datasets: [{ label: "Mean days in stage", data: data.average_days,
                       backgroundColor: cssColor("--lc-stage-backward", "#d97706"), borderRadius: 4, maxBarThickness: 22 }],
        },
        options: Object.assign({}, common, {
          indexAxis: "y",
          plugins: Object.assign({}, common.plugins, { legend: { display: false } }),
          scales: {
            x: { beginAtZero: true, title: { display: true, text: "days" }, grid: { color: grid } },
            y: { grid: { display: false } },
          },
        }),
      });
    }
  }

  function markCalculatorFields() {
    document.querySelectorAll("[data-field-error]").forEach(function (message) {
      var input = document.getElementById(message.dataset.fieldError);
      if (!input) {
        return;
      }
      var invalid = message.textContent.trim() !== "";
      input.classList.toggle("is-invalid", invalid);
      if (invalid) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", message.id);
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
  }

  function start() {
    startPopovers(document);
    drawCharts();
    document.body.addEventListener("htmx:afterSettle", function (event) {
      startPopovers(event.target);
      markCalculatorFields();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
