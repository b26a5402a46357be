// Print the single-page build of the book to one PDF (`make pdf`), with the Chromium that
// `make site-check` uses: no LaTeX and no browser download.
//
// The page is served from 127.0.0.1 (every asset, MathJax included, comes from the build), every
// request that would leave the server is refused, and printing waits until MathJax has typeset
// every formula and every image has loaded. The print style sheet (_static/print.css) hides the
// site's navigation and starts each chapter on a new page; Chromium adds the PDF outline
// (bookmarks) from the headings and page numbers in the footer.
//
// Usage: node site/print_pdf.mjs SINGLEHTML_FOLDER OUTPUT.pdf
// Environment: CHROMIUM (default /usr/bin/chromium).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

import { serveStatic } from '../tests/site/serve_static.mjs';

const [folder, output] = process.argv.slice(2);
if (!folder || !output) {
  console.error('usage: node site/print_pdf.mjs SINGLEHTML_FOLDER OUTPUT.pdf');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];
const TIMEOUT_MS = 240_000;

const FOOTER = `<div style="font: 8px sans-serif; width: 100%; text-align: center; color: #555;">
  <span class="title"></span> · <span class="pageNumber"></span> / <span class="totalPages"></span></div>`;

// Jupyter Book's index.html only redirects to the root page (book/intro.html), whose links the
// single-page builder writes relative to the build's root folder: serve that page's HTML from the
// root (as /book.html) so that its images, styles and MathJax resolve.
const index = await readFile(path.join(folder, 'index.html'), 'utf8');
const start = /http-equiv="Refresh" content="0; url=([^"]+)"/i.exec(index)?.[1] ?? 'index.html';
const bookHtml = await readFile(path.join(folder, start), 'utf8');
const server = await serveStatic(path.resolve(folder));
const browser = await chromium.launch({
  executablePath: CHROMIUM, args: CHROMIUM_ARGS, chromiumSandbox: false, headless: true,
});
const outside = [];
try {
  const context = await browser.newContext({ colorScheme: 'light' });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url === `${server.origin}/book.html`) {
      return route.fulfill({ body: bookHtml, contentType: 'text/html; charset=utf-8' });
    }
    if (url.startsWith(server.origin)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  await page.goto(`${server.origin}/book.html`, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await page.emulateMedia({ media: 'print' });
  const state = await page.evaluate(async () => {
    if (window.MathJax?.startup?.promise) await window.MathJax.startup.promise;
    await Promise.all([...document.images].map((img) => (img.complete ? null
      : new Promise((resolve) => { img.onload = img.onerror = resolve; }))));
    return {
      math: document.querySelectorAll('mjx-container').length,
      mathErrors: document.querySelectorAll('mjx-merror').length,
      brokenImages: [...document.images].filter((img) => img.naturalWidth === 0).map((img) => img.src),
    };
  });
  if (state.mathErrors || state.brokenImages.length) {
    throw new Error(`${state.mathErrors} MathJax errors; images that did not load: ${state.brokenImages.join(', ')}`);
  }
  await mkdir(path.dirname(path.resolve(output)), { recursive: true });
  await page.pdf({
    path: output, format: 'A4', printBackground: true, outline: true, tagged: true,
    margin: { top: '18mm', bottom: '18mm', left: '16mm', right: '16mm' },
    displayHeaderFooter: true, headerTemplate: '<span></span>', footerTemplate: FOOTER,
  });
  console.log(`${output}: ${state.math} formulas typeset, no request left the local server`);
} finally {
  await browser.close();
  await server.close();
}
if (outside.length) {
  console.error(`the page asked for ${outside.length} outside resources: ${outside.slice(0, 5).join(', ')}`);
  process.exit(1);
}
