// A realtime (Scribe) session through the official @elevenlabs/elevenlabs-js SDK's
// realtime client: 16 kHz pcm16 from a raw file, streamed at <pace> times real
// time in 0.1 s chunks, manual commit at the end; prints what the SDK emitted as JSON.
// Usage: node elevenlabs_realtime.mjs <base_url> <api_key> <pcm16_16k_file> [pace]
import { readFileSync } from "node:fs";
import { AudioFormat, CommitStrategy, ElevenLabsClient, RealtimeEvents } from "@elevenlabs/elevenlabs-js";

const [baseUrl, apiKey, pcmPath, paceArg] = process.argv.slice(2);
const pace = Number(paceArg ?? "1");
const client = new ElevenLabsClient({ apiKey, baseUrl, maxRetries: 0 });
const pcm = readFileSync(pcmPath);

const connection = await client.speechToText.realtime.connect({
  modelId: "scribe_v2_realtime",
  audioFormat: AudioFormat.PCM_16000,
  sampleRate: 16000,
  commitStrategy: CommitStrategy.MANUAL,
  languageCode: "en",
  includeTimestamps: true,
});

const seen = { started: null, partials: 0, committed: [], withTimestamps: [], errors: [] };
// connect() resolves before the socket opens: send once the session has started.
const ready = new Promise((resolve) => {
  connection.on(RealtimeEvents.SESSION_STARTED, (data) => { seen.started = data; resolve(); });
});
const done = new Promise((resolve) => {
  connection.on(RealtimeEvents.PARTIAL_TRANSCRIPT, () => { seen.partials += 1; });
  connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT, (data) => {
    seen.committed.push(data.text);
    resolve();
  });
  connection.on(RealtimeEvents.COMMITTED_TRANSCRIPT_WITH_TIMESTAMPS, (data) => {
    seen.withTimestamps.push({ text: data.text, words: (data.words ?? []).length });
  });
  connection.on(RealtimeEvents.ERROR, (error) => { seen.errors.push(error); resolve(); });
});

await Promise.race([ready, new Promise((r) => setTimeout(r, 30000))]);
const step = 3200; // 0.1 s of 16 kHz pcm16
const started = Date.now();
for (let i = 0, n = 0; i < pcm.length; i += step, n += 1) {
  connection.send({ audioBase64: pcm.subarray(i, i + step).toString("base64") });
  const ahead = started + ((n + 1) * 100) / pace - Date.now();
  if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
}
connection.commit();
await Promise.race([done, new Promise((r) => setTimeout(r, 60000))]);
// The with-timestamps message follows the committed one.
await new Promise((r) => setTimeout(r, 500));
connection.close();
console.log(JSON.stringify(seen));
process.exit(0); // the race's timers would keep the process alive
