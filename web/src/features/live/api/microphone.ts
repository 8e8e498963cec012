/**
 * The microphone as 16-bit mono PCM chunks, through an AudioWorklet (inlined as
 * a Blob module, so the build needs no extra file).
 */

const WORKLET = `
class PcmTap extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = []; this.size = 0; }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      this.buffer.push(channel.slice());
      this.size += channel.length;
      // About 100 ms per message.
      if (this.size >= sampleRate / 10) {
        const out = new Int16Array(this.size);
        let i = 0;
        for (const block of this.buffer) {
          for (let j = 0; j < block.length; j++) {
            const s = Math.max(-1, Math.min(1, block[j]));
            out[i++] = s < 0 ? s * 0x8000 : s * 0x7fff;
          }
        }
        this.port.postMessage(out.buffer, [out.buffer]);
        this.buffer = []; this.size = 0;
      }
    }
    return true;
  }
}
registerProcessor('pcm-tap', PcmTap);
`;

export interface Microphone {
  sampleRate: number;
  /** Input level of the last chunk, 0..1. */
  level: () => number;
  stop: () => void;
}

export function microphoneSupport(): string | null {
  if (!window.isSecureContext) return 'The microphone needs HTTPS (or localhost).';
  if (!navigator.mediaDevices?.getUserMedia) return 'This browser cannot capture the microphone.';
  if (typeof AudioWorkletNode === 'undefined') return 'This browser lacks AudioWorklet.';
  return null;
}

function newContext(): AudioContext {
  try {
    // 16 kHz is what the server decodes at: the browser resamples for us.
    return new AudioContext({ sampleRate: 16000 });
  } catch {
    return new AudioContext();
  }
}

export async function startMicrophone(onPcm: (pcm: ArrayBuffer) => void): Promise<Microphone> {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
  });
  const context = newContext();
  const moduleUrl = URL.createObjectURL(new Blob([WORKLET], { type: 'application/javascript' }));
  try {
    await context.audioWorklet.addModule(moduleUrl);
  } finally {
    URL.revokeObjectURL(moduleUrl);
  }
  const source = context.createMediaStreamSource(stream);
  const tap = new AudioWorkletNode(context, 'pcm-tap');
  let level = 0;
  tap.port.onmessage = (event: MessageEvent<ArrayBuffer>) => {
    const samples = new Int16Array(event.data);
    let peak = 0;
    for (let i = 0; i < samples.length; i += 16) peak = Math.max(peak, Math.abs(samples[i] ?? 0));
    level = peak / 0x8000;
    onPcm(event.data);
  };
  source.connect(tap);
  // The tap outputs silence; joining it to the destination keeps it pulled.
  tap.connect(context.destination);
  if (context.state === 'suspended') await context.resume();
  return {
    sampleRate: context.sampleRate,
    level: () => level,
    stop() {
      tap.port.onmessage = null;
      source.disconnect();
      tap.disconnect();
      for (const track of stream.getTracks()) track.stop();
      void context.close();
    },
  };
}
