// End-to-end test of the web console in real headless Chromium.
//
// Driven by tests/test_console.py, which starts a real Dalston server. Run it by
// hand against any server:
//
//   DALSTON_URL=http://127.0.0.1:8000 DALSTON_ADMIN_KEY=dk_... \
//   CONSOLE_AUDIO=../tests/data/whisper_jfk.flac node e2e/console.e2e.mjs
//
// Environment:
//   DALSTON_URL          the server (required)
//   DALSTON_ADMIN_KEY    an admin key (required)
//   CONSOLE_AUDIO        the file to upload (required)
//   CONSOLE_SCREENSHOTS  folder for one PNG per page (default e2e/screenshots)
//   CONSOLE_LIVE_AUDIO   a 16-bit PCM WAV that Chromium's fake microphone plays
//                        for the live transcription step (else it is skipped)
//   CONSOLE_DIARIZE_AUDIO  two people talking, for a job with diarization, PII
//                        detection and audio redaction (else that step is skipped)
//   CHROMIUM_PATH        the browser (default /usr/bin/chromium); Playwright
//                        never downloads one.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const base = required('DALSTON_URL').replace(/\/$/, '');
const adminKey = required('DALSTON_ADMIN_KEY');
const audio = path.resolve(required('CONSOLE_AUDIO'));
const shots = path.resolve(process.env.CONSOLE_SCREENSHOTS ?? path.join(here, 'screenshots'));
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const liveAudio = process.env.CONSOLE_LIVE_AUDIO ? path.resolve(process.env.CONSOLE_LIVE_AUDIO) : null;
const diarizeAudio = process.env.CONSOLE_DIARIZE_AUDIO ? path.resolve(process.env.CONSOLE_DIARIZE_AUDIO) : null;
const stamp = Date.now().toString(36);
const jobName = `e2e-jfk-${stamp}.flac`;
const keyName = `e2e-key-${stamp}`;
const JOB_TIMEOUT_MS = Number(process.env.CONSOLE_JOB_TIMEOUT_MS ?? 240_000);

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const console_ = (path = '') => `${base}/console/${path.replace(/^\//, '')}`;
let step = 'start';
const log = (message) => console.log(`[e2e] ${message}`);

async function shoot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
}

async function heading(page, text) {
  await page.getByRole('heading', { level: 1, name: text }).waitFor({ timeout: 15_000 });
}

async function run(page) {
  // --- sign in ---------------------------------------------------------------
  step = 'sign-in page';
  await page.goto(console_());
  await page.waitForURL(/\/console\/sign-in$/);
  await heading(page, 'Sign in to the console');
  await shoot(page, '01-sign-in');

  step = 'wrong key is refused';
  await page.getByLabel('API key').fill('dk_not_a_real_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This key was not accepted').waitFor();

  step = 'sign in with the admin key';
  await page.getByLabel('API key').fill(adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Dashboard');
  assert.ok(!page.url().includes(adminKey), 'the key must never be in a URL');
  const stored = await page.evaluate(() => sessionStorage.getItem('dalston.console.apiKey'));
  assert.equal(stored, adminKey, 'the key is kept in sessionStorage');
  const local = await page.evaluate(() => JSON.stringify(localStorage));
  assert.ok(!local.includes(adminKey), 'the key must not be in localStorage');

  // --- upload -----------------------------------------------------------------
  step = 'new job';
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New job' }).click();
  await heading(page, 'New job');
  // The model list comes from /v1/models.
  await page.locator('select option[value="whisper-tiny.en"]').waitFor({ state: 'attached' });
  await page.getByLabel('Audio or video file').setInputFiles(audio);
  await page.getByLabel('Timestamps').selectOption('word');
  await page.getByLabel('Display name').fill(jobName);
  await shoot(page, '03-new-job');
  await page.getByRole('button', { name: 'Transcribe' }).click();
  await page.waitForURL(/\/console\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  const jobId = page.url().split('/').pop();
  log(`job ${jobId} created`);
  assert.ok(!page.url().includes(adminKey));

  // --- watch it complete ------------------------------------------------------
  step = 'job completes';
  await page.locator('ol[aria-label="Stage graph"] [data-stage]').first().waitFor();
  await page.locator('[data-word-index]').first().waitFor({ timeout: JOB_TIMEOUT_MS });
  const statusText = await page.locator('header').getByText('completed').first().textContent();
  assert.match(statusText ?? '', /completed/);
  const stages = await page.locator('ol[aria-label="Stages"] li').allTextContents();
  assert.ok(stages.length >= 2, `expected stages, got ${stages.length}`);
  assert.ok(stages.every((s) => s.includes('succeeded')), `stages: ${stages.join(' | ')}`);

  step = 'transcript';
  const transcript = (await page.getByRole('group', { name: 'Transcript text' }).textContent()) ?? '';
  assert.match(transcript.toLowerCase(), /ask not what your country can do for you/);

  // --- audio and click-to-seek --------------------------------------------------
  step = 'audio loads';
  const player = page.locator('audio[aria-label="Job audio"]');
  await player.waitFor({ timeout: 30_000 });
  const src = await player.getAttribute('src');
  assert.ok(src?.startsWith('blob:'), `audio src should be a Blob URL, got ${src}`);
  await page.waitForFunction(() => (document.querySelector('audio')?.readyState ?? 0) >= 1, null, {
    timeout: 30_000,
  });
  const duration = await player.evaluate((el) => el.duration);
  assert.ok(Math.abs(duration - 11) < 0.5, `audio duration ${duration}`);

  step = 'click a word to seek';
  const word = page.locator('[data-word-index]', { hasText: /^country$/ }).first();
  const start = Number(await word.getAttribute('data-start'));
  const end = Number(await word.getAttribute('data-end'));
  assert.ok(start > 1, `"country" starts at ${start}`);
  await word.click();
  await page.waitForFunction(
    (t) => Math.abs((document.querySelector('audio')?.currentTime ?? -1) - t) < 0.25,
    start,
    { timeout: 10_000 },
  );
  const currentTime = await player.evaluate((el) => el.currentTime);
  log(`clicked "country" (${start}–${end} s): audio.currentTime = ${currentTime}`);
  assert.ok(Math.abs(currentTime - start) < 0.25, `currentTime ${currentTime} not near ${start}`);
  // The clicked word is the highlighted one.
  await page.waitForFunction(
    (t) => document.querySelector('[aria-current="true"][data-word-index]')?.getAttribute('data-start') === String(t),
    start,
    { timeout: 5_000 },
  );
  // Play briefly: the highlight moves on with the audio.
  await player.evaluate(async (el) => {
    el.muted = true;
    await el.play();
  });
  await page.waitForFunction(
    (t) => (document.querySelector('audio')?.currentTime ?? 0) > t + 0.8,
    start,
    { timeout: 10_000 },
  );
  await player.evaluate((el) => el.pause());
  const highlighted = await page.locator('[aria-current="true"][data-word-index]').count();
  const afterPlay = await player.evaluate((el) => el.currentTime);
  log(`after playing: currentTime ${afterPlay.toFixed(2)}, highlighted words ${highlighted}`);
  assert.ok(highlighted <= 1);
  await word.click();
  await page.waitForFunction(
    (t) => document.querySelector('[aria-current="true"][data-word-index]')?.getAttribute('data-start') === String(t),
    start,
  );
  await page.mouse.move(0, 0);
  await shoot(page, '04-job-detail');

  // --- export -------------------------------------------------------------------
  step = 'export SRT';
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 15_000 }),
    page.getByRole('button', { name: 'Download SRT' }).click(),
  ]);
  const srt = readFileSync(await download.path(), 'utf8');
  log(`downloaded ${download.suggestedFilename()} (${srt.length} chars)`);
  assert.ok(srt.startsWith('1\n00:00:'), `SRT starts with ${JSON.stringify(srt.slice(0, 20))}`);
  assert.equal(download.suggestedFilename(), `${jobName.slice(0, -5)}.srt`);

  step = 'export JSON';
  const [jsonDownload] = await Promise.all([
    page.waitForEvent('download', { timeout: 15_000 }),
    page.getByRole('button', { name: 'Download JSON' }).click(),
  ]);
  const exported = JSON.parse(readFileSync(await jsonDownload.path(), 'utf8'));
  assert.ok(Array.isArray(exported.segments) && exported.segments.length > 0);

  // --- enrichment: diarization, PII, redacted audio -------------------------------
  if (diarizeAudio) {
    step = 'diarization and PII job';
    await page.goto(console_('jobs/new'));
    await heading(page, 'New job');
    await page.locator('select option[value="whisper-tiny.en"]').waitFor({ state: 'attached' });
    await page.getByLabel('Audio or video file').setInputFiles(diarizeAudio);
    await page.getByLabel(/^Diarization/).check();
    await page.getByLabel('Number of speakers').selectOption('exact');
    await page.getByLabel('Speakers', { exact: true }).fill('2');
    await page.getByLabel(/^Detect PII/).check();
    await page.getByLabel(/^Redact PII in the audio/).check();
    await page.getByLabel(/^Beep/).check();
    await page.getByLabel('Display name').fill(`e2e-diarize-${stamp}.wav`);
    await page.getByRole('button', { name: 'Transcribe' }).click();
    await page.waitForURL(/\/console\/jobs\/[0-9a-f-]{36}$/, { timeout: 60_000 });
    const diarizedId = page.url().split('/').pop();
    log(`diarization job ${diarizedId} created`);
    await page.locator('[data-speaker-label]').first().waitFor({ timeout: JOB_TIMEOUT_MS });
    const labels = new Set(await page.locator('[data-speaker-label]').allTextContents());
    assert.deepEqual([...labels].sort(), ['SPEAKER_00', 'SPEAKER_01'], `speakers: ${[...labels]}`);
    const ran = await page.locator('ol[aria-label="Stages"] li').evaluateAll((lis) =>
      lis.map((li) => li.getAttribute('data-stage')),
    );
    for (const name of ['diarize', 'merge', 'pii', 'redact']) assert.ok(ran.includes(name), `stages: ${ran}`);
    // The stage graph shows every stage, each with its queue wait and processing time.
    const graph = page.locator('ol[aria-label="Stage graph"] [data-stage]');
    const drawn = await graph.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-stage')));
    assert.deepEqual([...drawn].sort(), [...ran].sort(), `graph: ${drawn}, stages: ${ran}`);
    for (const name of drawn) {
      const ranFor = await page.getByLabel(`${name} processing time`).textContent();
      assert.match(ranFor ?? '', /\d/, `${name} processing time: ${ranFor}`);
      const waited = await page.getByLabel(`${name} queue wait`).textContent();
      assert.match(waited ?? '', /\d/, `${name} queue wait: ${waited}`);
    }

    step = 'speaker turns';
    // One chip per speaker turn (consecutive segments of one speaker), not per line.
    const turnSpeakers = await page
      .locator('[data-turn]')
      .evaluateAll((turns) => turns.map((t) => [t.getAttribute('data-speaker'), t.querySelectorAll('[data-speaker-label]').length]));
    const segmentCount = await page.locator('[data-segment-id]').count();
    assert.ok(turnSpeakers.length >= 2 && turnSpeakers.length < segmentCount, `turns ${turnSpeakers.length}, segments ${segmentCount}`);
    for (let i = 0; i < turnSpeakers.length; i += 1) {
      assert.equal(turnSpeakers[i][1], 1, `turn ${i} has ${turnSpeakers[i][1]} chips`);
      if (i > 0) assert.notEqual(turnSpeakers[i][0], turnSpeakers[i - 1][0], `turns ${i - 1} and ${i}: same speaker`);
    }

    step = 'waveform';
    await page.waitForFunction(
      () => Number(document.querySelector('[aria-label="Waveform"]')?.getAttribute('data-peaks') ?? 0) > 0,
      null,
      { timeout: 30_000 },
    );
    assert.ok((await page.locator('[data-speaker-span]').count()) >= 2, 'speaker timeline');

    step = 'keyboard';
    await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('audio[aria-label="Job audio"]')?.paused === false, null, {
      timeout: 10_000,
    });
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('audio[aria-label="Job audio"]')?.paused === true);
    const before = await page.evaluate(() => document.querySelector('audio[aria-label="Job audio"]').currentTime);
    await page.keyboard.press('ArrowRight');
    const after = await page.evaluate(() => document.querySelector('audio[aria-label="Job audio"]').currentTime);
    assert.ok(after >= before + 4.5, `ArrowRight: ${before} -> ${after}`);

    step = 'search';
    await page.getByLabel('Search the transcript').fill('chicago');
    const matches = await page.locator('[data-match="true"]').count();
    assert.ok(matches >= 1, `matches for chicago: ${matches}`);
    await page.getByLabel('Search the transcript').press('Enter');
    await page.getByText(new RegExp(`^1 of ${matches}$`)).waitFor();
    await page.getByLabel('Search the transcript').fill('');

    step = 'rename a speaker';
    await page.getByRole('button', { name: 'Rename SPEAKER_01' }).first().click();
    await page.getByLabel('Name for SPEAKER_01').fill('Sheila');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('[data-speaker-label="SPEAKER_01"]', { hasText: 'Sheila' }).first().waitFor({ timeout: 20_000 });
    const srt = await (
      await fetch(`${base}/v1/audio/transcriptions/${diarizedId}/export/srt?include_speakers=true`, {
        headers: { Authorization: `Bearer ${adminKey}` },
      })
    ).text();
    assert.match(srt, /\[Sheila\]/, `srt: ${srt.slice(0, 300)}`);
    assert.ok(!srt.includes('SPEAKER_01'), `srt still names SPEAKER_01: ${srt.slice(0, 300)}`);
    log('renamed SPEAKER_01 to Sheila: the SRT export shows the name');
    await page.setViewportSize({ width: 390, height: 844 });
    await shoot(page, '14-job-diarized-phone');
    await page.setViewportSize({ width: 1280, height: 900 });

    step = 'entities and redacted text';
    const entities = page.getByRole('list', { name: 'Entities' }).locator('li');
    await entities.first().waitFor();
    log(`entities: ${(await entities.allTextContents()).join(' | ')}`);
    await page.waitForFunction(() => (document.querySelector('audio')?.readyState ?? 0) >= 1, null, {
      timeout: 30_000,
    });
    const timed = page.getByRole('list', { name: 'Entities' }).getByRole('button').first();
    await timed.click();
    await page.waitForFunction(
      () => (document.querySelector('audio[aria-label="Job audio"]')?.currentTime ?? 0) > 0,
      null,
      { timeout: 10_000 },
    );
    await page.getByRole('button', { name: 'Redacted', exact: true }).click();
    const redacted = (await page.getByRole('group', { name: 'Redacted transcript' }).textContent()) ?? '';
    assert.match(redacted, /\{[A-Z_]+\}/, `redacted text: ${redacted.slice(0, 120)}`);
    await page.locator('audio[aria-label="Redacted audio"]').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'Download redacted audio' }).waitFor();
    await page.mouse.move(0, 0);
    await shoot(page, '13-job-diarized');
    const removed = await fetch(`${base}/v1/audio/transcriptions/${diarizedId}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${adminKey}` },
    });
    assert.equal(removed.status, 204);
  } else {
    log('CONSOLE_DIARIZE_AUDIO not set: diarization and PII are not exercised');
  }

  // --- every page ---------------------------------------------------------------
  step = 'jobs list';
  await page.goto(console_('jobs'));
  await heading(page, 'Jobs');
  await page.locator(`a[href$="/jobs/${jobId}"]`).waitFor();
  await page.getByLabel('Search by name').fill(jobName.slice(0, -5));
  assert.equal(await page.locator('ul[aria-label="Jobs"] li').count(), 1);
  await page.locator('ul[aria-label="Jobs"] li', { hasText: jobName }).waitFor();
  await shoot(page, '05-jobs');
  await page.getByLabel('Search by name').fill('no-such-name');
  await page.getByText('No job matches your search').waitFor();
  await page.getByLabel('Search by name').fill('');
  await page.getByLabel('Status').selectOption('failed');
  await page.getByText('No failed jobs').waitFor();
  assert.match(page.url(), /status=failed/);

  step = 'dashboard';
  await page.goto(console_());
  await heading(page, 'Dashboard');
  await page.locator('[data-count="completed"]').waitFor();
  const completed = await page.locator('[data-count="completed"]').textContent();
  assert.ok(Number(completed?.replace('+', '')) >= 1, `completed count ${completed}`);
  await page.getByText(/ready of \d+/).waitFor();
  await shoot(page, '02-dashboard');

  step = 'models';
  await page.goto(console_('models'));
  await heading(page, 'Models');
  await page.getByRole('cell', { name: /whisper-tiny\.en/ }).first().waitFor();
  await shoot(page, '06-models');

  step = 'API keys';
  await page.goto(console_('keys'));
  await heading(page, 'API keys');
  await page.locator('ul[aria-label="API keys"]').waitFor();
  await page.getByLabel('Name').fill(keyName);
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.getByLabel('New API key').inputValue();
  assert.match(secret, /^dk_[A-Za-z0-9_-]{43}$/);
  await shoot(page, '07-keys');
  await page.getByRole('button', { name: 'Done' }).click();
  assert.equal(await page.getByLabel('New API key').count(), 0, 'the key is shown once');
  const row = page.locator('ul[aria-label="API keys"] li', { hasText: keyName });
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Revoke key' }).click();
  await row.getByText('revoked', { exact: true }).waitFor();
  const revoked = await fetch(`${base}/auth/me`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(revoked.status, 401, 'a revoked key is refused');

  step = 'engines';
  await page.goto(console_('engines'));
  await heading(page, 'Engines & workers');
  await page.getByRole('table', { name: 'Engine workers' }).getByText('faster-whisper').first().waitFor();
  await shoot(page, '10-engines');

  // --- live transcription from a fake microphone ----------------------------------
  step = 'live transcription';
  await page.goto(console_('live'));
  await heading(page, 'Live transcription');
  await page.getByText(/Realtime capacity: \d+ of \d+ slots free/).waitFor();
  const startMic = page.getByRole('button', { name: 'Start microphone' });
  if (liveAudio) {
    await startMic.click();
    await page.getByText('Recording', { exact: true }).waitFor({ timeout: 20_000 });
    // Chromium plays CONSOLE_LIVE_AUDIO (JFK) as the microphone, in a loop.
    await page
      .locator('[data-final="true"]', { hasText: /country/i })
      .first()
      .waitFor({ timeout: 90_000 });
    const live = await page.getByRole('log', { name: 'Live transcript' }).textContent();
    log(`live transcript: ${live?.slice(0, 120)}`);
    await shoot(page, '08-live');
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByText('The session is over').waitFor({ timeout: 60_000 });
  } else {
    log('CONSOLE_LIVE_AUDIO not set: the live stream is not exercised');
    assert.ok(!(await startMic.isDisabled()), 'live transcription should be startable');
    await shoot(page, '08-live');
  }

  step = 'realtime sessions';
  await page.goto(console_('realtime'));
  await heading(page, 'Realtime sessions');
  await page.getByRole('heading', { name: 'Capacity' }).waitFor();
  if (liveAudio) {
    const session = page.locator('ul[aria-label="Realtime sessions"] li', { hasText: /country/i }).first();
    await session.waitFor();
    await session.getByRole('button', { name: 'Play audio' }).click();
    const sessionPlayer = session.locator('audio');
    await sessionPlayer.waitFor();
    assert.ok((await sessionPlayer.getAttribute('src'))?.startsWith('blob:'));
    await shoot(page, '09-realtime');
    await session.getByRole('button', { name: 'Delete', exact: true }).click();
    await session.getByRole('button', { name: 'Delete session' }).click();
    await page.getByText('No realtime sessions yet').waitFor();
  } else {
    await shoot(page, '09-realtime');
  }

  step = 'unknown page';
  await page.goto(console_('no/such/page'));
  await heading(page, 'Page not found');

  // --- narrow screen ----------------------------------------------------------------
  step = 'narrow screen';
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(console_(`jobs/${jobId}`));
  await page.locator('[data-word-index]').first().waitFor();
  await shoot(page, '11-job-detail-narrow');
  const menu = page.getByRole('button', { name: 'Menu' });
  await menu.click();
  await page.locator('#mobile-nav').getByRole('link', { name: 'Models' }).click();
  await heading(page, 'Models');
  await shoot(page, '12-models-narrow');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page is ${overflow}px wider than a narrow screen`);
  await page.setViewportSize({ width: 1280, height: 900 });

  // --- delete and sign out ------------------------------------------------------------
  step = 'delete the job';
  await page.goto(console_(`jobs/${jobId}`));
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.getByRole('button', { name: 'Delete job' }).click();
  await page.waitForURL(/\/console\/jobs$/);
  await page.getByText('Deleted job').waitFor();
  const gone = await fetch(`${base}/v1/audio/transcriptions/${jobId}/audio`, {
    headers: { Authorization: `Bearer ${adminKey}` },
  });
  assert.equal(gone.status, 404, 'a deleted job has no audio');

  step = 'sign out';
  await page.getByRole('button', { name: 'Sign out' }).first().click();
  await page.waitForURL(/\/console\/sign-in$/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('dalston.console.apiKey')), null);
}

async function main() {
  mkdirSync(shots, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'dalston-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      // A fake microphone that plays CONSOLE_LIVE_AUDIO, and no permission prompt.
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      ...(liveAudio ? [`--use-file-for-fake-audio-capture=${liveAudio}`] : []),
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(20_000);
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  try {
    await run(page);
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    log('all steps passed');
  } catch (error) {
    console.error(`[e2e] FAILED at step "${step}": ${error?.stack ?? error}`);
    if (pageErrors.length) console.error(`[e2e] page errors:\n${pageErrors.join('\n')}`);
    await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
    process.exitCode = 1;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
