// A static file server for the built site, on 127.0.0.1 only, on a free port the system picks.
// It counts the bytes it sends, and what they would weigh gzipped (as GitHub Pages sends them), so
// that the check can weigh what one page load fetched.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.ipynb': 'application/x-ipynb+json',
  '.md': 'text/markdown; charset=utf-8',
  '.pdf': 'application/pdf',
};

/** The file a URL path names inside `root`, or null when it points outside it. */
function fileFor(root, urlPath) {
  const relative = decodeURIComponent(urlPath.split('?')[0]);
  const file = path.resolve(root, '.' + relative);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/**
 * Serve `root` on 127.0.0.1.
 *
 * @returns {Promise<{origin: string, bytesSent: () => {raw: number, gzip: number},
 *   close: () => Promise<void>}>}
 */
export async function serveStatic(root) {
  const sent = { raw: 0, gzip: 0 };
  const gzipSizes = new Map();
  const server = http.createServer(async (request, response) => {
    let file = fileFor(root, new URL(request.url, 'http://127.0.0.1').pathname);
    try {
      if (file === null) throw new Error('outside the site');
      let info = await stat(file);
      if (info.isDirectory()) {
        file = path.join(file, 'index.html');
        info = await stat(file);
      }
      const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': info.size });
      if (!gzipSizes.has(file)) gzipSizes.set(file, gzipSync(await readFile(file)).length);
      sent.raw += info.size;
      sent.gzip += gzipSizes.get(file);
      createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end(`not found: ${request.url}\n`);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    bytesSent: () => ({ ...sent }),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
