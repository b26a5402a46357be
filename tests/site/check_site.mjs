// The browser check of the built site (`make site-check`): open every page of _build/html in
// headless Chromium, as a reader would, and fail on anything a reader would see go wrong.
//
// For every page, at desktop width (light and dark) and at phone width, it checks that the page
// loads with status 200; every request stays on the local server (the site works offline);
// every <img> has loaded; where the page has math, MathJax typeset all of it with no error; no
// cell output shows a traceback or a stderr stream; the console has no error; local links point
// to files that exist; the phone layout does not scroll sideways. Notebook pages must offer copy,
// download (.ipynb) and launch (Binder, Colab) buttons, and in dark mode figures keep a white
// background. Every architecture diagram (a figure of class "diagram", placed with
// {glue:figure} ... :figclass: diagram) must have rendered with a non-zero size, carry a name,
// a caption and alt text, and sit on white in dark mode; an animated one must step through its
// frames when its buttons are pressed. The search page must find SEARCH_TERM. Screenshots go to
// OUT/{desktop,phone,dark}/, each diagram's own screenshot to OUT/diagrams/{desktop,phone,dark}/,
// and a one-line-per-page summary to OUT/summary.txt.
//
// Usage: node tests/site/check_site.mjs [SITE=_build/html] [OUT=_build/site-check]
// Environment: CHROMIUM (default /usr/bin/chromium), SEARCH_TERM (default "unfolding"),
// REQUIRE_DIAGRAMS=1 to fail every chapter page (NN_*.html) that shows no diagram,
// MAX_PAGE_MIB (default 2.5): the most a page may load, images included, at desktop width,
// MAX_FIRST_RENDER_MS (default 500): the most the heaviest page may take to first render (the
// median of 5 cold loads from the local server).
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { serveStatic } from './serve_static.mjs';

const SITE = path.resolve(process.argv[2] ?? '_build/html');
const OUT = path.resolve(process.argv[3] ?? '_build/site-check');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SEARCH_TERM = process.env.SEARCH_TERM || 'unfolding';
const REQUIRE_DIAGRAMS = process.env.REQUIRE_DIAGRAMS === '1';
const CHAPTER_PAGE = /(^|\/)\d\d_[^/]*\.html$/;
const TIMEOUT_MS = 60_000;
const MAX_PAGE_BYTES = Number(process.env.MAX_PAGE_MIB || 2.5) * 1024 * 1024;
const MAX_FIRST_RENDER_MS = Number(process.env.MAX_FIRST_RENDER_MS || 500);

// Chromium as this machine runs it: no sandbox (root in CI), no GPU, and none of the background
// connections it would otherwise try (the network here is closed).
const CHROMIUM_ARGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

const VIEWS = {
  desktop: { viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  phone: {
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'light',
  },
  dark: { viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
};

// Folders of the built site that hold assets, not pages, and the lecture slides, which
// tests/site/check_slides.mjs checks as decks.
const ASSET_FOLDERS = new Set(['_static', '_sources', '_images', '_downloads', '_panels_static', 'slides']);

async function htmlPages(root, folder = '') {
  const pages = [];
  for (const entry of await readdir(path.join(root, folder), { withFileTypes: true })) {
    const relative = folder ? `${folder}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !ASSET_FOLDERS.has(entry.name)) {
      pages.push(...await htmlPages(root, relative));
    } else if (entry.isFile() && entry.name.endsWith('.html')) {
      pages.push(relative);
    }
  }
  return pages.sort();
}

async function folderSize(folder) {
  let bytes = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += (await stat(path.join(entry.parentPath ?? entry.path, entry.name))).size;
  }
  return bytes;
}

async function exists(file) {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;
const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
const weight = (bytes) => `${kib(bytes.raw).padStart(9)} loaded (${kib(bytes.gzip)} gzipped)`;

/** The target of a `<meta http-equiv="refresh">` redirect page, or null. */
function redirectTarget(html) {
  const match = html.match(/<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"/i);
  return match ? match[1] : null;
}

/** What the page shows, read in the page itself once it has settled. */
function inspectPage({ view }) {
  const text = (element) => element.textContent.trim().replace(/\s+/g, ' ').slice(0, 120);
  const mathElements = [...document.querySelectorAll('.math')];
  const codeCells = document.querySelectorAll('.cell .cell_input');
  const links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  const outputs = [...document.querySelectorAll('.cell_output')];
  const figures = [...document.querySelectorAll('.cell_output img, figure img')];
  return {
    theme: document.documentElement.dataset.theme ?? '',
    brokenImages: [...document.images]
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => img.getAttribute('src')),
    images: document.images.length,
    math: mathElements.length,
    untypesetMath: mathElements.filter((m) => !m.querySelector('mjx-container')).map(text),
    mathContainers: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror, merror, [data-mjx-error]')]
      .map((e) => e.getAttribute('data-mjx-error') || text(e)),
    errorOutputs: [
      ...document.querySelectorAll('.cell_output .stderr, .cell_output .traceback, .cell_output .error'),
      ...outputs.filter((o) => o.textContent.includes('Traceback (most recent call last)')),
    ].map(text),
    codeCells: codeCells.length,
    copyButtons: document.querySelectorAll('.cell .cell_input button.copybtn').length,
    notebookDownload: links.some((href) => href.endsWith('.ipynb')),
    binder: links.some((href) => href.includes('mybinder.org')),
    colab: links.some((href) => href.includes('colab.research.google.com')),
    prevNext: document.querySelectorAll('.prev-next-area a').length,
    localLinks: links.filter((href) => href.startsWith(location.origin)),
    sideways: view === 'phone'
      ? document.documentElement.scrollWidth - window.innerWidth : 0,
    figureBackgrounds: figures.map((img) => getComputedStyle(img).backgroundColor),
    diagrams: [...document.querySelectorAll('figure.diagram')].map((figure) => {
      const img = figure.querySelector('img');
      const svg = figure.querySelector('svg');
      const drawing = img ?? svg;
      const box = drawing ? drawing.getBoundingClientRect() : { width: 0, height: 0 };
      return {
        id: figure.id,
        kind: img ? 'image' : (svg ? 'animation' : 'nothing'),
        loaded: img ? img.complete && img.naturalWidth > 0 : Boolean(svg),
        width: box.width,
        height: box.height,
        alt: (img ? img.getAttribute('alt') : svg?.getAttribute('aria-label')) ?? '',
        src: img?.getAttribute('src') ?? '',
        caption: figure.querySelector('figcaption')?.textContent.trim() ?? '',
        background: drawing ? getComputedStyle(drawing).backgroundColor : '',
      };
    }),
  };
}

/** Press an animation's buttons: First shows frame 1 only, Next adds frame 2. */
function stepAnimations() {
  const read = (root) => root.querySelector('.diagram-animation-count')?.textContent ?? '';
  return [...document.querySelectorAll('figure.diagram .diagram-animation')].map((root) => {
    const frames = Number(root.querySelector('input[type=range]')?.max ?? -1) + 1;
    const lastFrame = [...root.querySelectorAll(`[id^="${root.id}-frame-${frames - 1}-"]`)];
    root.querySelector('button[data-step="first"]')?.click();
    const first = read(root);
    const lastHidden = lastFrame.length > 0 && lastFrame.every((e) => getComputedStyle(e).display === 'none');
    root.querySelector('button[data-step="next"]')?.click();
    const next = read(root);
    root.querySelector('input[type=range]').value = String(frames - 1);
    root.querySelector('input[type=range]').dispatchEvent(new Event('input'));
    return { id: root.id, frames, first, next, lastHidden };
  });
}

/** Every image on the page loaded in full, lazy ones included. */
async function loadAllImages() {
  await Promise.all([...document.images].map((img) => {
    img.loading = 'eager';
    return img.complete ? null : new Promise((resolve) => {
      img.addEventListener('load', resolve, { once: true });
      img.addEventListener('error', resolve, { once: true });
    });
  }));
}

/** Wait until MathJax, if the page loads it, has typeset the page. */
async function mathTypeset() {
  const startup = window.MathJax && window.MathJax.startup;
  if (startup && startup.promise) await startup.promise;
}

/**
 * Open one page in a fresh browser context (a cold cache, as a first-time reader has) and
 * check it. Returns the problems found, what the page showed, and how heavy and fast it was.
 */
async function visit(browser, server, page, view) {
  const context = await browser.newContext({ ...VIEWS[view], serviceWorkers: 'block' });
  const problems = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(server.origin + '/')) return route.continue();
    problems.push(`request leaves 127.0.0.1: ${url}`);
    return route.abort('blockedbyclient');
  });
  const tab = await context.newPage();
  tab.setDefaultTimeout(TIMEOUT_MS);
  tab.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  tab.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  tab.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  tab.on('requestfailed', (request) => {
    if (request.url().startsWith(server.origin)) {
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    }
  });

  try {
    const bytesBefore = server.bytesSent();
    const response = await tab.goto(`${server.origin}/${page}`, { waitUntil: 'load' });
    if (response === null || response.status() !== 200) {
      problems.push(`status ${response?.status()} for the page itself`);
    }
    await tab.evaluate(mathTypeset);
    await tab.evaluate(loadAllImages);
    await tab.waitForLoadState('networkidle');
    const firstPaint = await tab.evaluate(firstContentfulPaint);
    const shown = await tab.evaluate(inspectPage, { view });
    const animations = view === 'desktop' ? await tab.evaluate(stepAnimations) : [];
    const bytesAfter = server.bytesSent();
    const bytes = { raw: bytesAfter.raw - bytesBefore.raw, gzip: bytesAfter.gzip - bytesBefore.gzip };

    const shot = path.join(OUT, view, page.replace(/\.html$/, '.png'));
    await mkdir(path.dirname(shot), { recursive: true });
    await tab.screenshot({ path: shot, fullPage: true });
    for (const [i, diagram] of shown.diagrams.entries()) {
      const name = `${page.replace(/\.html$/, '')}--${diagram.id || `figure-${i + 1}`}.png`;
      const figure = tab.locator('figure.diagram').nth(i);
      await figure.scrollIntoViewIfNeeded();
      await figure.screenshot({ path: path.join(OUT, 'diagrams', view, name) }).catch((error) => {
        problems.push(`no screenshot of diagram ${diagram.id}: ${error.message.split('\n')[0]}`);
      });
    }
    for (const a of animations) {
      if (a.first !== `step 1 of ${a.frames}` || a.next !== `step 2 of ${a.frames}` || !a.lastHidden) {
        problems.push(`animation ${a.id} does not step through its frames (First: "${a.first}", Next: "${a.next}")`);
      }
    }
    return { problems, shown, bytes, firstPaint };
  } catch (error) {
    problems.push(`did not finish loading: ${error.message.split('\n')[0]}`);
    return { problems, shown: null, bytes: { raw: 0, gzip: 0 }, firstPaint: NaN };
  } finally {
    await context.close();
  }
}

/** The problems a page shows, beyond those the browser reported while loading it. */
async function pageProblems(page, view, shown, contentPages) {
  const problems = [];
  if (shown === null) return problems;
  for (const src of shown.brokenImages) problems.push(`image did not load: ${src}`);
  if (shown.math > 0 && shown.mathContainers === 0) {
    problems.push(`${shown.math} math elements but MathJax produced no mjx-container`);
  }
  for (const m of shown.untypesetMath) problems.push(`math not typeset: ${m}`);
  for (const e of shown.mathErrors) problems.push(`MathJax error: ${e}`);
  for (const o of shown.errorOutputs) problems.push(`error in a cell output: ${o}`);
  for (const href of shown.localLinks) {
    const file = decodeURIComponent(new URL(href).pathname).replace(/\/$/, '/index.html');
    if (!await exists(path.join(SITE, file))) problems.push(`broken link: ${file}`);
  }
  if (shown.sideways > 1) problems.push(`scrolls sideways by ${shown.sideways}px at phone width`);
  for (const d of shown.diagrams) {
    const which = `diagram ${d.id || '(no name)'}`;
    if (!d.id) problems.push('a diagram has no :name: to refer to it by');
    if (!d.loaded || d.width < 1 || d.height < 1) {
      problems.push(`${which} did not render (${d.kind}, ${d.width.toFixed(0)} x ${d.height.toFixed(0)} px)`);
    }
    if (!d.alt.trim() || d.alt === d.src) problems.push(`${which} has no alt text`);
    if (!d.caption) problems.push(`${which} has no caption`);
    if (view === 'dark' && d.background !== 'rgb(255, 255, 255)') {
      problems.push(`${which} on ${d.background} in dark mode, not white`);
    }
  }
  if (REQUIRE_DIAGRAMS && CHAPTER_PAGE.test(page) && shown.diagrams.length === 0) {
    problems.push('a chapter page without an architecture diagram');
  }
  if (view === 'dark') {
    if (shown.theme !== 'dark') problems.push(`dark mode not applied (theme "${shown.theme}")`);
    for (const background of shown.figureBackgrounds) {
      if (background !== 'rgb(255, 255, 255)') {
        problems.push(`figure on ${background} in dark mode, not white`);
      }
    }
  }
  if (contentPages.includes(page)) {
    if (contentPages.length > 1 && shown.prevNext === 0) problems.push('no previous/next links');
    if (shown.codeCells > 0) {
      if (shown.copyButtons < shown.codeCells) {
        problems.push(`${shown.copyButtons} copy buttons for ${shown.codeCells} code cells`);
      }
      if (!shown.notebookDownload) problems.push('no .ipynb download button');
      if (!shown.binder || !shown.colab) problems.push('no Binder or Colab launch button');
    }
  }
  return problems;
}

/** In the page: when it first painted content (ms after navigation), or NaN if it has not in 5 s. */
function firstContentfulPaint() {
  return new Promise((resolve) => {
    new PerformanceObserver((list) => {
      const entry = list.getEntriesByName('first-contentful-paint')[0];
      if (entry) resolve(entry.startTime);
    }).observe({ type: 'paint', buffered: true });
    setTimeout(() => resolve(NaN), 5000);
  });
}

/** The median time to first contentful paint of a page over `loads` cold loads (fresh contexts, so
 * nothing cached), after one load that is not counted: it warms the browser's own processes, which a
 * reader's browser has already started. */
async function medianFirstRender(browser, server, page, loads = 5) {
  const times = [];
  for (let i = -1; i < loads; i += 1) {
    const context = await browser.newContext(VIEWS.desktop);
    const tab = await context.newPage();
    await tab.goto(`${server.origin}/${page}`, { waitUntil: 'load' });
    const time = await tab.evaluate(firstContentfulPaint);
    if (i >= 0) times.push(time);
    await context.close();
  }
  return times.sort((x, y) => x - y)[Math.floor(loads / 2)];
}

/** The search page finds SEARCH_TERM on a content page. */
async function checkSearch(browser, server) {
  const context = await browser.newContext(VIEWS.desktop);
  const tab = await context.newPage();
  tab.setDefaultTimeout(TIMEOUT_MS);
  await tab.goto(`${server.origin}/search.html?q=${encodeURIComponent(SEARCH_TERM)}`);
  await tab.waitForFunction(() =>
    /finished|did not match/i.test(document.querySelector('#search-results')?.textContent ?? ''));
  const found = await tab.$$eval('#search-results ul.search li a', (links) =>
    [...new Set(links.map((a) => new URL(a.href).pathname.slice(1)))]);
  await tab.screenshot({ path: path.join(OUT, 'search.png'), fullPage: true });
  await context.close();
  return found;
}

async function main() {
  if (!await exists(path.join(SITE, 'index.html'))) {
    throw new Error(`no site at ${SITE}: build it first (make book)`);
  }
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const pages = await htmlPages(SITE);
  const redirects = new Map();
  for (const page of pages) {
    const target = redirectTarget(await readFile(path.join(SITE, page), 'utf8'));
    if (target !== null) redirects.set(page, path.posix.join(path.posix.dirname(page), target));
  }
  const generated = new Set(['genindex.html', 'search.html', 'py-modindex.html']);
  const contentPages = pages.filter((p) => !redirects.has(p) && !generated.has(p));

  const server = await serveStatic(SITE);
  const browser = await chromium.launch({
    executablePath: CHROMIUM, args: CHROMIUM_ARGS, chromiumSandbox: false, headless: true,
  });
  const lines = [];
  const report = (line) => { // one line of the summary, printed as soon as it is known
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  const failures = [];
  let heaviest = null;
  try {
    for (const page of pages) {
      if (redirects.has(page)) {
        const target = redirects.get(page);
        const ok = pages.includes(target);
        if (!ok) failures.push(`${page}: redirects to ${target}, which does not exist`);
        report(`${ok ? 'ok  ' : 'FAIL'} ${page.padEnd(44)} redirect to ${target}`);
        continue;
      }
      const viewsOf = new Map(); // problem -> the views that show it
      let desktop = null;
      for (const view of Object.keys(VIEWS)) {
        const seen = await visit(browser, server, page, view);
        desktop ??= seen;
        for (const p of [...seen.problems, ...await pageProblems(page, view, seen.shown, contentPages)]) {
          viewsOf.set(p, new Set([...(viewsOf.get(p) ?? []), view]));
        }
      }
      const problems = [...viewsOf].map(([p, views]) =>
        (views.size === Object.keys(VIEWS).length ? p : `${p} [${[...views].join(', ')} only]`));
      const { shown, bytes, firstPaint } = desktop;
      if (bytes.raw > MAX_PAGE_BYTES) {
        problems.push(`loads ${mib(bytes.raw)}, more than the budget of ${mib(MAX_PAGE_BYTES)}`);
      }
      if (heaviest === null || bytes.raw > heaviest.bytes.raw) heaviest = { page, bytes, firstPaint };
      const facts = shown === null ? 'did not load' : `${weight(bytes)}, `
        + `first render ${firstPaint.toFixed(0).padStart(4)} ms, `
        + `${shown.math} math, ${shown.images} images, ${shown.diagrams.length} diagrams, `
        + `${shown.codeCells} code cells`;
      report(`${problems.length ? 'FAIL' : 'ok  '} ${page.padEnd(44)} ${facts}`);
      for (const p of problems) {
        report(`       ${p}`);
        failures.push(`${page}: ${p}`);
      }
    }

    if (heaviest) heaviest.firstPaint = await medianFirstRender(browser, server, heaviest.page);
    if (heaviest && !(heaviest.firstPaint <= MAX_FIRST_RENDER_MS)) {
      failures.push(`${heaviest.page}: first render after ${heaviest.firstPaint.toFixed(0)} ms `
        + `(median of 5 cold loads), more than the budget of ${MAX_FIRST_RENDER_MS} ms`);
    }
    const found = await checkSearch(browser, server).catch((error) => {
      failures.push(`search.html: the search did not finish: ${error.message.split('\n')[0]}`);
      return [];
    });
    const hits = found.filter((p) => contentPages.includes(p));
    if (hits.length === 0) {
      failures.push(`search.html: searching "${SEARCH_TERM}" found no content page (got: ${found.join(', ') || 'nothing'})`);
    }
    report(`${hits.length ? 'ok  ' : 'FAIL'} search for "${SEARCH_TERM}" finds ${hits.length} pages: ${hits.join(', ')}`);
  } finally {
    await browser.close();
    await server.close();
  }

  const total = await folderSize(SITE);
  const mathjax = await folderSize(path.join(SITE, '_static', 'mathjax')).catch(() => 0);
  report(`site: ${pages.length} pages, ${mib(total)} in all (MathJax ${mib(mathjax)})`);
  if (heaviest) {
    report(`heaviest page: ${heaviest.page}, ${weight(heaviest.bytes).trim()}, `
      + `first render ${heaviest.firstPaint.toFixed(0)} ms (median of 5 cold loads from 127.0.0.1)`);
  }
  report(`screenshots: ${path.relative(process.cwd(), OUT)}/{desktop,phone,dark}/, `
    + `diagrams: ${path.relative(process.cwd(), OUT)}/diagrams/{desktop,phone,dark}/`);
  report(failures.length ? `site-check: ${failures.length} problems` : 'site-check: all pages pass');
  await writeFile(path.join(OUT, 'summary.txt'), lines.join('\n') + '\n');
  if (failures.length) {
    process.stderr.write(failures.map((f) => `site-check: FAIL ${f}\n`).join(''));
    process.exitCode = 1;
  }
}

main().catch((error) => {
  process.stderr.write(`site-check: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
