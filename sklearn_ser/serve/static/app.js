// The page of `sklearn-ser serve`: upload or record a clip, show the label and, for long
// input, the emotion over time. No framework, no CDN; text is only ever set as text.
"use strict";

const LONG_SECONDS = 10; // longer input goes to /segments and is shown as a timeline
const COLOURS = {
  angry: "#b91c1c", happy: "#a16207", sad: "#1d4ed8", neutral: "#57534e", calm: "#0e7490",
  fear: "#7e22ce", disgust: "#15803d", surprise: "#be185d",
};
const SPARE = ["#334155", "#9f1239", "#3f6212", "#1e40af", "#854d0e", "#6b21a8"];
const NO_SPEECH_COLOUR = "#d6d3d1";
const SVG = "http://www.w3.org/2000/svg";

let model = null;
const colourOf = {};

function $(id) { return document.getElementById(id); }

function setStatus(text, isError) {
  const box = $("status");
  box.textContent = text;
  box.classList.toggle("error", Boolean(isError));
}

async function loadModel() {
  try {
    const response = await fetch("/model");
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || response.statusText);
    model = body;
  } catch (err) {
    $("model-line").textContent = "The model could not be described: " + err.message;
    return;
  }
  let spare = 0;
  for (const name of model.classes) {
    colourOf[name] = COLOURS[name] || SPARE[spare++ % SPARE.length];
  }
  $("model-line").textContent = `Model ${model.source} (${model.preset}): ` +
    `${model.classes.length} classes - ${model.classes.join(", ")}.`;
  const about = $("about");
  const card = model.card || {};
  const facts = [
    ["classes", model.classes.join(", ")],
    ["preset", model.preset],
    ["trained on", Array.isArray(card.trained_on) ? card.trained_on.join(", ") :
      (card.trained_on || "not recorded")],
    ["created", card.created || "not recorded"],
    ["sklearn_ser", (model.versions.model || {}).sklearn_ser || "not recorded"],
    ["limits", `${model.limits.max_clip_seconds} s a clip, ` +
      `${model.limits.max_recording_seconds} s a recording, ${model.limits.max_request_mb} MiB`],
  ];
  if (card.evaluation && card.evaluation.accuracy) {
    facts.splice(3, 0, ["accuracy", `${(100 * card.evaluation.accuracy.mean).toFixed(1)} % ` +
      `(${card.evaluation.protocol || "evaluation"})`]);
  }
  for (const [term, value] of facts) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = String(value);
    about.append(dt, dd);
  }
}

// -- sending audio -------------------------------------------------------------------------
async function send(blob, name, seconds) {
  const long = seconds !== null && seconds > LONG_SECONDS;
  const form = new FormData();
  form.append("file", blob, name);
  setStatus(long ? `Analysing ${seconds.toFixed(1)} s over time...` : "Predicting...");
  $("result").hidden = true;
  $("timeline-box").hidden = true;
  let response, body;
  try {
    response = await fetch(long ? "/segments" : "/predict", { method: "POST", body: form });
    body = await response.json();
  } catch (err) {
    setStatus("The server did not answer: " + err.message, true);
    return;
  }
  if (!response.ok) {
    setStatus(body.message || `error ${response.status}`, true);
    return;
  }
  if (long) showSegments(body); else showPrediction(body.predictions[0], name);
}

async function duration(arrayBuffer) {
  try {
    const context = new OfflineAudioContext(1, 1, 16000);
    const audio = await context.decodeAudioData(arrayBuffer);
    return audio.duration;
  } catch (err) {
    return null; // the server decides (it may read formats the browser does not)
  }
}

async function onFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  const seconds = await duration(await file.arrayBuffer());
  await send(file, file.name, seconds);
}

// -- showing results -----------------------------------------------------------------------
function showBars(probabilities) {
  const bars = $("bars");
  bars.replaceChildren();
  const entries = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  for (const [name, p] of entries) {
    const row = document.createElement("div");
    row.className = "bar-row";
    const label = document.createElement("span");
    label.className = "bar-name";
    label.textContent = name;
    const track = document.createElement("span");
    track.className = "bar-track";
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", `${name}: ${(100 * p).toFixed(0)} percent`);
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    fill.style.backgroundColor = colourOf[name] || "#334155";
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = `${(100 * p).toFixed(0)} %`;
    row.append(label, track, value);
    bars.append(row);
  }
}

function showLabel(label, text) {
  const chip = $("label");
  chip.textContent = label;
  chip.style.backgroundColor = colourOf[label] || "#334155";
  $("confidence").textContent = text;
  $("result").hidden = false;
}

function showPrediction(prediction, name) {
  const p = prediction.probabilities[prediction.label];
  showLabel(prediction.label, `${(100 * p).toFixed(0)} % probability`);
  showBars(prediction.probabilities);
  setStatus(`${name}: ${prediction.label}`);
}

function showSegments(data) {
  const speech = data.segments.filter((s) => s.speech && s.probabilities);
  if (speech.length === 0) {
    setStatus(`${data.name}: no speech found in ${data.duration.toFixed(1)} s`);
    return;
  }
  // Overall: the mean probabilities over the windows of speech.
  const mean = {};
  for (const c of data.classes) {
    mean[c] = speech.reduce((sum, s) => sum + s.probabilities[c], 0) / speech.length;
  }
  const top = data.classes.reduce((a, b) => (mean[a] >= mean[b] ? a : b));
  showLabel(top, `overall, mean over ${speech.length} windows of speech`);
  showBars(mean);
  drawTimeline(data);
  setStatus(`${data.name}: ${data.duration.toFixed(1)} s, mostly ${top}`);
}

function drawTimeline(data) {
  const svg = document.createElementNS(SVG, "svg");
  const width = 1000, height = 48;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "Emotion over time; the table below lists the segments");
  const x = (t) => (width * t) / Math.max(data.duration, 1e-9);
  const rows = data.segments;
  rows.forEach((s, i) => {
    // A window of speech owns the time until the next row starts (the hop).
    const next = rows.slice(i + 1).find((r) => r.start > s.start);
    const end = s.speech && next ? Math.min(s.end, next.start) : s.end;
    const rect = document.createElementNS(SVG, "rect");
    rect.setAttribute("x", x(s.start).toFixed(2));
    rect.setAttribute("width", Math.max(x(end) - x(s.start), 0.5).toFixed(2));
    rect.setAttribute("y", "0");
    rect.setAttribute("height", String(height));
    rect.setAttribute("fill", s.speech ? colourOf[s.label] || "#334155" : NO_SPEECH_COLOUR);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${s.start.toFixed(1)}-${s.end.toFixed(1)} s: ${s.label}`;
    rect.append(title);
    svg.append(rect);
  });
  const axis = document.createElement("div");
  axis.className = "axis";
  const first = document.createElement("span");
  first.textContent = "0 s";
  const last = document.createElement("span");
  last.textContent = `${data.duration.toFixed(1)} s`;
  axis.append(first, last);
  $("timeline").replaceChildren(svg, axis);
  const legend = $("legend");
  legend.replaceChildren();
  for (const [name, colour] of [...Object.entries(colourOf), ["no speech", NO_SPEECH_COLOUR]]) {
    const item = document.createElement("span");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.backgroundColor = colour;
    item.append(swatch, document.createTextNode(name));
    legend.append(item);
  }
  const body = $("segments-table").tBodies[0];
  body.replaceChildren();
  for (const s of rows) {
    const tr = document.createElement("tr");
    const p = s.probabilities ? `${(100 * s.probabilities[s.label]).toFixed(0)} %` : "";
    for (const text of [s.start.toFixed(1), s.end.toFixed(1), s.label, p]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  $("timeline-box").hidden = false;
}

// -- recording (Web Audio -> WAV in the page; no ffmpeg anywhere) ---------------------------
let recording = null;

async function startRecording() {
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    setStatus("This browser cannot record here (a microphone needs https or localhost).",
      true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    setStatus("No microphone: " + err.message, true);
    return;
  }
  const context = new AudioContext();
  await context.audioWorklet.addModule("/static/recorder-worklet.js");
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "recorder");
  const chunks = [];
  node.port.onmessage = (event) => chunks.push(event.data);
  source.connect(node);
  const started = performance.now();
  const limit = model ? Math.min(model.limits.max_clip_seconds, 60) : 30;
  const timer = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    $("record-status").textContent = `Recording: ${seconds.toFixed(0)} s (stops at ${limit} s)`;
    if (seconds >= limit) stopRecording();
  }, 250);
  recording = { stream, context, node, source, chunks, timer };
  $("record").disabled = true;
  $("stop").disabled = false;
  $("stop").focus();
  setStatus("Recording...");
}

async function stopRecording() {
  if (!recording) return;
  const { stream, context, node, source, chunks, timer } = recording;
  recording = null;
  clearInterval(timer);
  source.disconnect();
  node.port.onmessage = null;
  stream.getTracks().forEach((track) => track.stop());
  const rate = context.sampleRate;
  await context.close();
  $("record").disabled = false;
  $("stop").disabled = true;
  $("record").focus();
  const n = chunks.reduce((sum, c) => sum + c.length, 0);
  $("record-status").textContent = `Recorded ${(n / rate).toFixed(1)} s.`;
  if (n === 0) {
    setStatus("Nothing was recorded.", true);
    return;
  }
  const samples = new Float32Array(n);
  let offset = 0;
  for (const c of chunks) { samples.set(c, offset); offset += c.length; }
  await send(encodeWav(samples, rate), "recording.wav", n / rate);
}

function encodeWav(samples, rate) {
  // 16-bit PCM, mono: the smallest thing every decoder reads.
  const buffer = new ArrayBuffer(44 + 2 * samples.length);
  const view = new DataView(buffer);
  const text = (at, s) => { for (let i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF");
  view.setUint32(4, 36 + 2 * samples.length, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, 2 * rate, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, 2 * samples.length, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + 2 * i, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

document.addEventListener("DOMContentLoaded", () => {
  loadModel();
  $("file").addEventListener("change", onFile);
  $("record").addEventListener("click", startRecording);
  $("stop").addEventListener("click", stopRecording);
});
