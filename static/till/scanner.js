// The camera: rear camera by default (front on request), a frame every 150 ms decoded by the browser's own
// BarcodeDetector when it has one for QR codes, else by the vendored pure-JavaScript decoder. Permission is
// asked only when scanning starts. A beep and a vibration on a read; the same code is not read twice in a row
// within a few seconds (the customer's phone stays in front of the camera while the card opens).

const FRAME_INTERVAL_MS = 150;
const SAME_CODE_IGNORED_MS = 4000;
const MAX_DECODE_WIDTH = 640;

export class CameraError extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason; // "insecure", "denied", "missing", "failed"
  }
}

async function nativeDetector() {
  if (!("BarcodeDetector" in globalThis)) return null;
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code") ? new globalThis.BarcodeDetector({ formats: ["qr_code"] }) : null;
  } catch {
    return null;
  }
}

export class CameraScanner {
  constructor({ video, onCode }) {
    this.video = video;
    this.onCode = onCode;
    this.stream = null;
    this.running = false;
    this.timer = null;
    this.lastCode = null;
    this.lastReadAt = 0;
    this.canvas = document.createElement("canvas");
    this.decodeQR = null;
    this.detector = null;
    this.audio = null;
  }

  async start(facing = "environment") {
    this.stop();
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new CameraError("insecure");
    }
    // Made during the click that started scanning, so browsers let it play the beep later.
    if (!this.audio && "AudioContext" in globalThis) this.audio = new AudioContext();
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: facing }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) throw new CameraError("denied");
      if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) throw new CameraError("missing");
      throw new CameraError("failed");
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    this.detector = await nativeDetector();
    if (!this.detector && !this.decodeQR) {
      ({ decodeQR: this.decodeQR } = await import("./vendor/qr/decode.js"));
    }
    this.running = true;
    this.schedule();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  get isRunning() {
    return this.running;
  }

  schedule() {
    this.timer = setTimeout(() => this.tick(), FRAME_INTERVAL_MS);
  }

  async tick() {
    if (!this.running) return;
    try {
      const code = await this.detect();
      if (code) this.read(code);
    } catch {
      // A frame that could not be read: the next one will do.
    }
    if (this.running) this.schedule();
  }

  async detect() {
    const video = this.video;
    if (video.readyState < 2 || !video.videoWidth) return null;
    if (this.detector) {
      const codes = await this.detector.detect(video);
      return codes.length ? codes[0].rawValue : null;
    }
    const scale = Math.min(1, MAX_DECODE_WIDTH / video.videoWidth);
    const width = Math.round(video.videoWidth * scale);
    const height = Math.round(video.videoHeight * scale);
    this.canvas.width = width;
    this.canvas.height = height;
    const context = this.canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0, width, height);
    const image = context.getImageData(0, 0, width, height);
    try {
      return this.decodeQR({ width, height, data: image.data });
    } catch {
      return null; // no QR code in this frame
    }
  }

  read(code) {
    const now = Date.now();
    if (code === this.lastCode && now - this.lastReadAt < SAME_CODE_IGNORED_MS) return;
    this.lastCode = code;
    this.lastReadAt = now;
    this.feedback();
    this.onCode(code);
  }

  feedback() {
    if (navigator.vibrate) navigator.vibrate(80);
    if (!this.audio) return;
    try {
      const oscillator = this.audio.createOscillator();
      const gain = this.audio.createGain();
      oscillator.frequency.value = 1200;
      gain.gain.value = 0.15;
      oscillator.connect(gain).connect(this.audio.destination);
      oscillator.start();
      oscillator.stop(this.audio.currentTime + 0.12);
    } catch {
      // No sound on this device: the vibration and the card opening say enough.
    }
  }
}
