import fastifyMultipart, { type Multipart } from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, BadRequestError } from './app-error.js';

export type UploadForm = { key: unknown; bytes: Buffer | undefined };

// A key is at most 255 characters (≤ 1020 bytes); a larger field is refused, not truncated.
const FIELD_LIMIT = 4096;

/**
 * Lets the calling plugin's routes read upload forms. Registered per plugin, not on the root:
 * @fastify/multipart hooks every request in its scope (a close listener, a clean-up after the
 * answer), and the image hit path takes no forms.
 */
export async function acceptUploadForms(app: FastifyInstance): Promise<void> {
  await app.register(fastifyMultipart);
}

/** Reads the multipart fields `key` and `file` in either order; the file is bounded by `limitBytes`. */
export async function readUploadForm(request: FastifyRequest, limitBytes: number): Promise<UploadForm> {
  if (!request.isMultipart()) {
    throw new AppError(415, 'expected a multipart/form-data body with the fields "key" and "file"');
  }
  const form: UploadForm = { key: undefined, bytes: undefined };
  const parts = request.parts({ limits: { fileSize: limitBytes, files: 1, fields: 8, fieldSize: FIELD_LIMIT } });
  try {
    await collect(parts, form);
  } catch (err) {
    throw friendlier(err as { code?: string }, limitBytes);
  }
  return form;
}

function friendlier(err: { code?: string }, limitBytes: number) {
  switch (err.code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return new AppError(413, `file is larger than the upload limit of ${+(limitBytes / 1048576).toFixed(2)} MB`);
    case 'FST_FILES_LIMIT':
      return new BadRequestError('send exactly one file per upload');
    case 'FST_INVALID_JSON_FIELD_ERROR':
      // @fastify/multipart answers 406, but a field declared as JSON that is not JSON is a malformed request.
      return new BadRequestError('a form field declared as application/json is not valid JSON; send "key" as plain text');
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new BadRequestError('too many form fields; send only "key" and "file"');
    default:
      // busboy reports a cut-off or garbled body as a plain Error.
      return err instanceof AppError || (err as { statusCode?: number }).statusCode
        ? err
        : new BadRequestError(`malformed multipart body: ${(err as Error).message}`);
  }
}

async function collect(parts: AsyncIterableIterator<Multipart>, form: UploadForm): Promise<void> {
  for await (const part of parts) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file') throw new BadRequestError(`unexpected file field "${part.fieldname}"; send the image as "file"`);
      form.bytes = await part.toBuffer();
    } else if (part.fieldname === 'key') {
      if (form.key !== undefined) throw new BadRequestError('the field "key" was sent more than once');
      if (part.valueTruncated) throw new BadRequestError('key is longer than 255 characters');
      form.key = part.value;
    }
  }
}
