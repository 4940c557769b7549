// The page of `ferbench serve`: send a photo or webcam frame to POST /predict, draw each face's box and label,
// and a bar chart of the seven probabilities. Plain JavaScript, no external files: it works offline.
"use strict";

const $ = (id) => document.getElementById(id);
const els = {
  file: $("file"), drop: $("drop"), detect: $("detect"), webcam: $("webcam"), stop: $("stop"),
  status: $("status"), error: $("error"), stage: $("stage"), frame: $("frame"), boxes: $("boxes"),
  faces: $("faces"), video: $("video"),
};
let stream = null;

function showError(message) {
  els.error.textContent = message;
  els.error.hidden = false;
}

function clearResult() {
  els.error.hidden = true;
  els.boxes.replaceChildren();
  els.faces.replaceChildren();
}

async function predict(blob, name) {
  const form = new FormData();
  form.append("file", blob, name);
  const response = await fetch(`/predict?detect=${encodeURIComponent(els.detect.value)}`, { method: "POST", body: form });
  let body;
  try {
    body = await response.json();
  } catch (err) {
    throw new Error(`the server answered ${response.status} without JSON`);
  }
  if (!response.ok) throw new Error(body.error || `the server answered ${response.status}`);
  return body;
}

function pct(p) { return `${Math.round(p * 100)}%`; }

function render(record, picture) {
  els.frame.width = record.width;
  els.frame.height = record.height;
  els.frame.getContext("2d").drawImage(picture, 0, 0, record.width, record.height);
  els.stage.hidden = false;
  els.boxes.replaceChildren();
  els.faces.replaceChildren();
  record.faces.forEach((face, k) => {
    const [x, y, w, h] = face.box;
    const box = document.createElement("div");
    box.className = "box";
    Object.assign(box.style, {
      left: `${(100 * x) / record.width}%`, top: `${(100 * y) / record.height}%`,
      width: `${(100 * w) / record.width}%`, height: `${(100 * h) / record.height}%`,
    });
    const tag = document.createElement("span");
    tag.className = "box-label";
    const top = face.label ? face.probabilities[face.label] : null;
    tag.textContent = `${k + 1}: ${face.label ?? "?"}${top === null ? "" : " " + pct(top)}`;
    box.append(tag);
    els.boxes.append(box);

    const item = document.createElement("li");
    item.className = "face";
    const title = document.createElement("div");
    title.innerHTML = `Face ${k + 1}: <span class="label"></span>`;
    title.querySelector(".label").textContent = face.label ?? "no answer";
    const bars = document.createElement("div");
    bars.className = "bars";
    for (const [emotion, p] of Object.entries(face.probabilities)) {
      const name = document.createElement("span");
      name.textContent = emotion;
      const bar = document.createElement("div");
      bar.className = emotion === face.label ? "bar top" : "bar";
      bar.title = `${emotion}: ${p}`;
      const fill = document.createElement("span");
      fill.style.width = pct(p);
      bar.append(fill);
      const value = document.createElement("span");
      value.className = "pct";
      value.textContent = pct(p);
      bars.append(name, bar, value);
    }
    item.append(title, bars);
    els.faces.append(item);
  });
  const n = record.faces.length;
  els.status.textContent = n ? `${n} face${n > 1 ? "s" : ""} in ${record.path} (${record.width}×${record.height})`
    : `${record.message || "no face found"} in ${record.path}: try "whole image is one face" for a face crop`;
}

async function analyseFile(file) {
  if (!file) return;
  stopWebcam();
  clearResult();
  els.status.textContent = `analysing ${file.name}…`;
  try {
    const record = await predict(file, file.name);
    const picture = await createImageBitmap(file, { imageOrientation: "from-image" });
    render(record, picture);
  } catch (err) {
    els.stage.hidden = true;
    els.status.textContent = `${file.name}: not analysed`;
    showError(err.message);
  }
}

async function startWebcam() {
  clearResult();
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  } catch (err) {
    showError(`webcam unavailable: ${err.message}`);
    return;
  }
  els.video.srcObject = stream;
  els.webcam.hidden = true;
  els.stop.hidden = false;
  els.status.textContent = "webcam: analysing frames…";
  await els.video.play();
  webcamLoop(stream);
}

async function webcamLoop(own) {
  const grab = document.createElement("canvas");
  while (stream === own) {
    grab.width = els.video.videoWidth;
    grab.height = els.video.videoHeight;
    if (grab.width && grab.height) {
      grab.getContext("2d").drawImage(els.video, 0, 0);
      const blob = await new Promise((resolve) => grab.toBlob(resolve, "image/jpeg", 0.9));
      try {
        const record = await predict(blob, "webcam.jpg");
        if (stream !== own) break;
        els.error.hidden = true;
        render(record, grab);
      } catch (err) {
        showError(err.message);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stopWebcam() {
  if (!stream) return;
  stream.getTracks().forEach((t) => t.stop());
  stream = null;
  els.video.srcObject = null;
  els.webcam.hidden = false;
  els.stop.hidden = true;
}

els.file.addEventListener("change", () => {
  const file = els.file.files[0];
  els.file.value = "";  // choosing the same file again fires "change" again
  analyseFile(file);
});
els.drop.addEventListener("dragover", (e) => { e.preventDefault(); els.drop.classList.add("over"); });
els.drop.addEventListener("dragleave", () => els.drop.classList.remove("over"));
els.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  els.drop.classList.remove("over");
  analyseFile(e.dataTransfer.files[0]);
});
els.webcam.addEventListener("click", startWebcam);
els.stop.addEventListener("click", () => { stopWebcam(); els.status.textContent = "webcam stopped"; });

fetch("/models").then((r) => r.json()).then((info) => {
  const m = info.models[0];
  $("model-name").textContent = m.name;
  if (m.accuracy != null) $("model-accuracy").textContent = `(${(m.accuracy * 100).toFixed(2)}% on ${m.split}, from its model card)`;
}).catch(() => { $("model-name").textContent = "unknown"; });
