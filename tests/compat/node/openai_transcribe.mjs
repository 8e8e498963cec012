// One transcription through the official openai Node SDK (it streams the
// multipart body with transfer-encoding: chunked). Prints the parsed result as JSON.
//
// usage: node openai_transcribe.mjs <baseURL> <apiKey> <audioPath>
import fs from "node:fs";
import OpenAI from "openai";

const [baseURL, apiKey, audioPath] = process.argv.slice(2);
if (!baseURL || !apiKey || !audioPath) {
  console.error("usage: node openai_transcribe.mjs <baseURL> <apiKey> <audioPath>");
  process.exit(2);
}

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0 });
const result = await client.audio.transcriptions.create({
  model: "whisper-1",
  file: fs.createReadStream(audioPath),
  language: "en",
  response_format: "verbose_json",
  timestamp_granularities: ["word", "segment"],
});
console.log(JSON.stringify(result));
