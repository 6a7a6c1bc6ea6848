import { Readable } from 'node:stream';
import type { ImageService } from '../images/image-service.js';

/** Keys read from the database per query while the list streams out. */
export const KEY_LIST_BATCH = 5000;

async function* keyListJson(images: Pick<ImageService, 'keysPage'>, first: string[]): AsyncGenerator<string> {
  yield '{"success":"true","keys":[';
  let page = first;
  let separator = '';
  while (page.length > 0) {
    yield separator + page.map((key) => JSON.stringify(key)).join(',');
    separator = ',';
    if (page.length < KEY_LIST_BATCH) break;
    page = await images.keysPage({ after: page.at(-1), limit: KEY_LIST_BATCH });
  }
  yield ']}';
}

/**
 * `list_keys`' answer, streamed batch by batch in key order: the course API returns every key,
 * but neither the rows nor the JSON of all of them are ever held at once. The first batch is
 * read before anything is sent, so a database that is down still gets a clean 503; one that
 * fails mid-list cuts the answer short (the client sees an incomplete body, never a wrong one).
 */
export async function streamKeyList(images: Pick<ImageService, 'keysPage'>): Promise<Readable> {
  const first = await images.keysPage({ limit: KEY_LIST_BATCH });
  return Readable.from(keyListJson(images, first), { objectMode: false });
}
