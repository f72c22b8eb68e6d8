// Draws every chart of a page with Apache ECharts: each `.chart` element
// carries its ECharts option as JSON in `data-option` (the server builds
// it from the same table that is shown under the chart).
(function () {
  'use strict';
  if (typeof echarts === 'undefined') return;
  var charts = [];
  document.querySelectorAll('.chart[data-option]').forEach(function (el) {
    try {
      var chart = echarts.init(el, null, { renderer: 'svg' });
      chart.setOption(JSON.parse(el.getAttribute('data-option')));
      charts.push(chart);
    } catch (e) {
      el.textContent = '';
    }
  });
  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
