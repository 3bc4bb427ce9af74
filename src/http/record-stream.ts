// The REST Proxy's streamed produce: a POST .../records body holding JSON records one after
// the other (as curl sends a file, or a client writes over a chunked request). Each record is
// produced as soon as it is complete in the body, and its answer written at once; reading
// pauses while records wait, so a fast sender cannot fill the broker's memory. One record
// alone is answered as a plain request (its error as the HTTP status); several get 200 and
// one JSON answer per line, a failed record answered by its error without stopping the rest.

import { StringDecoder } from 'node:string_decoder';
import { type Exchange, parseJson, RestError, RestErrorCode, sendError, statusLine, toJson } from './http-support.js';

/** Splits a character stream into top-level JSON values (objects or arrays). */
export class JsonSequenceSplitter {
  private pending = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  /** Adds text; returns the values completed by it. */
  push(text: string): unknown[] {
    this.pending += text;
    const values: unknown[] = [];
    let start = 0;
    for (let index = this.scanned; index < this.pending.length; index++) {
      const char = this.pending[index]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (char === '\\') this.escaped = true;
        else if (char === '"') this.inString = false;
        continue;
      }
      if (char === '"') this.inString = true;
      else if (char === '{' || char === '[') {
        if (this.depth === 0) start = index;
        this.depth++;
      } else if (char === '}' || char === ']') {
        this.depth--;
        if (this.depth < 0) throw new RestError(400, RestErrorCode.BAD_REQUEST, 'Malformed JSON: unbalanced brackets');
        if (this.depth === 0) {
          values.push(parseJson(Buffer.from(this.pending.slice(start, index + 1))));
          start = index + 1;
        }
      } else if (this.depth === 0 && !/\s/.test(char)) {
        throw new RestError(400, RestErrorCode.BAD_REQUEST, `Malformed JSON: unexpected '${char}' between records`);
      } else if (this.depth === 0) start = index + 1;
    }
    // Keep only the unfinished record.
    if (this.depth === 0) {
      this.pending = '';
      this.scanned = 0;
    } else {
      this.pending = this.pending.slice(start);
      this.scanned = this.pending.length;
    }
    return values;
  }

  end(): void {
    if (this.depth !== 0 || this.inString) throw new RestError(400, RestErrorCode.BAD_REQUEST, 'Malformed JSON: the body ends inside a record');
  }
}

/** Several JSON values one after the other, all at once. */
export function parseJsonSequence(body: Buffer): unknown[] {
  const splitter = new JsonSequenceSplitter();
  const values = splitter.push(body.toString('utf8'));
  splitter.end();
  return values;
}

/** Most records waiting to be produced before the request body stops being read. */
const MAX_WAITING = 64;

/**
 * Reads the body of `target`, producing each record with `produce` as it completes.
 * Resolves once the last answer is written (or the client went away).
 */
export function streamRecords(target: Exchange, limitBytes: number, produce: (record: unknown) => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const res = target.res;
    const splitter = new JsonSequenceSplitter();
    const decoder = new StringDecoder('utf8');
    const waiting: unknown[] = [];
    let seen = 0;
    let received = 0;
    let ended = false;
    let done = false;
    let paused = false;
    let working = false;
    let mode: 'undecided' | 'stream' = 'undecided';
    let written = 0;
    /** The first record's outcome, held until the body shows whether more follow. */
    let held: { ok: unknown } | { error: unknown } | undefined;

    const answerOf = (outcome: { ok: unknown } | { error: unknown }) => {
      if ('ok' in outcome) return outcome.ok;
      const error = outcome.error;
      const rest = error instanceof RestError ? error : new RestError(500, RestErrorCode.INTERNAL, (error as Error).message);
      return { error_code: rest.errorCode, message: rest.message };
    };
    const write = (outcome: { ok: unknown } | { error: unknown }) => {
      if (target.aborted) return;
      const body = `${written++ > 0 ? '\n' : ''}${toJson(answerOf(outcome))}`;
      res.cork(() => res.write(body));
    };
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      if (!target.aborted) {
        if (mode === 'stream') {
          const tail = error === undefined ? '' : `${written > 0 ? '\n' : ''}${toJson(answerOf({ error }))}`;
          res.cork(() => res.end(tail));
        } else if (error !== undefined) sendError(target, error);
        else if (held !== undefined && 'error' in held) sendError(target, held.error);
        else if (held !== undefined) {
          const body = toJson(held.ok);
          res.cork(() => res.writeStatus(statusLine(200)).writeHeader('content-type', 'application/json').end(body));
        } else sendError(target, new RestError(400, RestErrorCode.BAD_REQUEST, 'The request body has no record'));
      }
      resolve();
    };
    const decide = () => {
      if (done) return;
      if (mode === 'undecided' && seen > 1) {
        mode = 'stream';
        if (!target.aborted) res.cork(() => res.writeStatus(statusLine(200)).writeHeader('content-type', 'application/json'));
        if (held !== undefined) write(held);
        held = undefined;
      }
      if (ended && waiting.length === 0 && !working) finish();
    };
    const work = async () => {
      if (working) return;
      working = true;
      while (waiting.length > 0 && !done && !target.aborted) {
        if (paused && waiting.length < MAX_WAITING / 2) {
          paused = false;
          res.resume();
        }
        let outcome: { ok: unknown } | { error: unknown };
        try {
          outcome = { ok: await produce(waiting.shift()) };
        } catch (error) {
          outcome = { error };
        }
        if (mode === 'stream') write(outcome);
        else held = outcome;
        decide();
      }
      working = false;
      if (target.aborted) {
        done = true;
        resolve();
        return;
      }
      decide();
    };

    res.onData((chunk, isLast) => {
      if (done) return;
      try {
        received += chunk.byteLength;
        if (received > limitBytes) throw new RestError(413, 413, `Request body larger than ${limitBytes} bytes`);
        const values = splitter.push(decoder.write(Buffer.from(chunk)));
        if (isLast) {
          values.push(...splitter.push(decoder.end()));
          splitter.end();
          ended = true;
        }
        seen += values.length;
        waiting.push(...values);
      } catch (error) {
        finish(error);
        return;
      }
      if (!ended && waiting.length >= MAX_WAITING && !paused) {
        paused = true;
        res.pause();
      }
      decide();
      void work();
    });
  });
}
