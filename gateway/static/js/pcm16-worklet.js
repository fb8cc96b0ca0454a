// AudioWorklet processor for live captions: the microphone's float samples, at whatever rate the
// AudioContext runs, to pcm16 little-endian mono at 24 kHz (the Realtime API's `audio/pcm`), posted
// to the page in 100 ms chunks (ArrayBuffers of 4800 bytes). A context at another rate is resampled
// by linear interpolation over a running fractional position, so chunk boundaries add no clicks.

const TARGET_RATE = 24000;
const CHUNK_SAMPLES = TARGET_RATE / 10;

class Pcm16Processor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample (`sampleRate`: the context's)
    this.position = 0; // where the next output sample lies, in input samples since `previous`
    this.previous = 0; // the last input sample of the previous block
    this.chunk = new Int16Array(CHUNK_SAMPLES);
    this.filled = 0;
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no microphone connected (yet)
    const input = channels[0];
    // sample i of this block is at position i + 1; `previous` is at position 0
    while (this.position <= input.length - 1 + 1e-9) {
      const at = this.position;
      const index = Math.floor(at);
      const fraction = at - index;
      const left = index === 0 ? this.previous : input[index - 1];
      const right = input[Math.min(index, input.length - 1)];
      this.push(left + (right - left) * fraction);
      this.position += this.step;
    }
    this.position -= input.length;
    this.previous = input[input.length - 1];
    return true;
  }

  push(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff;
    if (this.filled === CHUNK_SAMPLES) {
      const buffer = this.chunk.buffer;
      this.port.postMessage(buffer, [buffer]);
      this.chunk = new Int16Array(CHUNK_SAMPLES);
      this.filled = 0;
    }
  }
}

registerProcessor("pcm16-24k", Pcm16Processor);
