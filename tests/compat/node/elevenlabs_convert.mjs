// One batch transcription through the official @elevenlabs/elevenlabs-js SDK,
// then GET and DELETE of the transcript; prints the SDK's parsed results as JSON.
// Usage: node elevenlabs_convert.mjs <base_url> <api_key> <audio_file>
import { readFileSync } from "node:fs";
import { ElevenLabsClient } from "@elevenlabs/elevenlabs-js";

const [baseUrl, apiKey, audioPath] = process.argv.slice(2);
const client = new ElevenLabsClient({ apiKey, baseUrl, maxRetries: 0 });

// A Buffer goes out as filename="blob", application/octet-stream (spec A.2).
const converted = await client.speechToText.convert({
  file: readFileSync(audioPath),
  modelId: "scribe_v1",
  languageCode: "eng",
  timestampsGranularity: "character",
  tagAudioEvents: true,
  keyterms: ["Americans", "country"],
  additionalFormats: [{ format: "srt", maxCharactersPerLine: 40 }, { format: "txt" }],
});
const fetched = await client.speechToText.transcripts.get(converted.transcriptionId);
const deleted = await client.speechToText.transcripts.delete(converted.transcriptionId);
let missing = null;
try {
  await client.speechToText.transcripts.get(converted.transcriptionId);
} catch (error) {
  missing = { name: error.constructor.name, statusCode: error.statusCode, body: error.body };
}
console.log(JSON.stringify({ converted, fetched, deleted: deleted ?? null, missing }));
