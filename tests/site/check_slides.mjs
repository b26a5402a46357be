// The browser check of the lecture slides (`make site-check`, after `make slides`): open every deck
// of _build/html/slides in headless Chromium and fail on anything an audience would see go wrong.
//
// For every deck it checks that the page loads; every request stays on the local server (the decks
// work offline: reveal.js and MathJax are served with them); reveal.js starts; MathJax typeset every
// formula with no error; every image has loaded; the console has no error. It saves a screenshot of
// every slide to OUT/<deck>/NN.png and prints one line per deck.
//
// Usage: node tests/site/check_slides.mjs [SLIDES=_build/html/slides] [OUT=_build/site-check/slides]
// Environment: CHROMIUM (default /usr/bin/chromium).
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { serveStatic } from './serve_static.mjs';

const SLIDES = path.resolve(process.argv[2] ?? '_build/html/slides');
const OUT = path.resolve(process.argv[3] ?? '_build/site-check/slides');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 60_000;
const CHROMIUM_ARGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

async function checkDeck(browser, server, deck) {
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.origin) || url.startsWith('data:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text().slice(0, 200)}`);
  });
  page.on('pageerror', (error) => problems.push(`script error: ${error.message.slice(0, 200)}`));
  const response = await page.goto(`${server.origin}/${deck}`, { waitUntil: 'load', timeout: TIMEOUT_MS });
  if (!response?.ok()) problems.push(`status ${response?.status()}`);
  let seen = { slides: 0, math: 0 };
  try {
    await page.waitForFunction(() => window.Reveal?.isReady?.(), null, { timeout: TIMEOUT_MS });
    seen = await page.evaluate(() => ({
      slides: Reveal.getTotalSlides(),
      math: document.querySelectorAll('mjx-container').length,
      mathErrors: document.querySelectorAll('mjx-merror').length,
      rawMath: [...document.querySelectorAll('.slides section')]
        .filter((s) => /\\\(|\\\[/.test(s.innerText)).length,
      brokenImages: [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).length,
    }));
    if (seen.slides === 0) problems.push('the deck has no slide');
    if (seen.mathErrors) problems.push(`${seen.mathErrors} MathJax errors`);
    if (seen.rawMath) problems.push(`${seen.rawMath} slides show raw TeX`);
    if (seen.brokenImages) problems.push(`${seen.brokenImages} images did not load`);
    const folder = path.join(OUT, deck.replace(/\.html$/, ''));
    await mkdir(folder, { recursive: true });
    await page.evaluate(() => Reveal.configure({ transition: 'none', backgroundTransition: 'none' }));
    for (let index = 0; index < seen.slides; index += 1) {
      await page.evaluate((i) => Reveal.slide(i), index);
      await page.waitForTimeout(150);
      await page.screenshot({ path: path.join(folder, `${String(index + 1).padStart(2, '0')}.png`) });
      // reveal.js scales a slide to the window but clips what runs past the slide's own height
      const over = await page.evaluate(() => {
        const slide = Reveal.getCurrentSlide();
        return Math.ceil(slide.scrollHeight - Reveal.getConfig().height);
      });
      if (over > 0) problems.push(`slide ${index + 1} runs ${over} px past the bottom of the slide`);
    }
  } catch (error) {
    problems.push(`reveal.js did not start: ${error.message.split('\n')[0]}`);
  }
  if (outside.length) problems.push(`requests left the server: ${outside.slice(0, 3).join(', ')}`);
  await context.close();
  return { problems, seen };
}

const decks = (await readdir(SLIDES)).filter((f) => f.endsWith('.html') && f !== 'index.html').sort();
if (decks.length === 0) throw new Error(`no decks in ${SLIDES}: run make slides`);
await rm(OUT, { recursive: true, force: true });
const server = await serveStatic(SLIDES);
const browser = await chromium.launch({
  executablePath: CHROMIUM, args: CHROMIUM_ARGS, chromiumSandbox: false, headless: true,
});
const failures = [];
try {
  for (const deck of ['index.html', ...decks]) {
    if (deck === 'index.html') {
      const page = await browser.newPage();
      const response = await page.goto(`${server.origin}/index.html`);
      const links = await page.evaluate(() => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')));
      const missing = decks.filter((d) => !links.includes(d));
      const ok = response?.ok() && missing.length === 0;
      if (!ok) failures.push(`index.html: status ${response?.status()}, missing links to ${missing.join(', ')}`);
      console.log(`${ok ? 'ok  ' : 'FAIL'} slides/index.html lists ${decks.length} decks`);
      await page.close();
      continue;
    }
    const { problems, seen } = await checkDeck(browser, server, deck);
    console.log(`${problems.length ? 'FAIL' : 'ok  '} slides/${deck.padEnd(40)} ${seen.slides} slides, ${seen.math} formulas`);
    for (const p of problems) {
      console.log(`       ${p}`);
      failures.push(`slides/${deck}: ${p}`);
    }
  }
} finally {
  await browser.close();
  await server.close();
}
if (failures.length) {
  console.error(`\n${failures.length} problems in the slides`);
  process.exit(1);
}
