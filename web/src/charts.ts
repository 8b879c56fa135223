// Charts (Chart.js): a model's ownership, its verified work over training steps, and the loss a
// Prometheus scraping its trainers has (when protolearnd web is given one).
import {
  ArcElement, CategoryScale, Chart, DoughnutController, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip,
} from "chart.js";

Chart.register(ArcElement, CategoryScale, DoughnutController, Legend, LineController, LineElement, LinearScale, PointElement, Tooltip);

const palette = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563"];

function canvas(testid: string): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.setAttribute("data-testid", testid);
  c.height = 220;
  return c;
}

export function ownershipChart(labels: string[], fractions: number[]): HTMLCanvasElement {
  const c = canvas("ownership-chart");
  new Chart(c, {
    type: "doughnut",
    data: { labels, datasets: [{ data: fractions.map((f) => f * 100), backgroundColor: labels.map((_, i) => palette[i % palette.length]) }] },
    options: { animation: false, plugins: { legend: { position: "right" } }, maintainAspectRatio: false },
  });
  return c;
}

export function lineChart(testid: string, series: { label: string; points: { x: number; y: number }[] }[], xTitle: string, yTitle: string): HTMLCanvasElement {
  const c = canvas(testid);
  new Chart(c, {
    type: "line",
    data: {
      datasets: series.map((s, i) => ({ label: s.label, data: s.points, borderColor: palette[i % palette.length], pointRadius: 2, tension: 0 })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      scales: { x: { type: "linear", title: { display: true, text: xTitle } }, y: { title: { display: true, text: yTitle } } },
    },
  });
  return c;
}
