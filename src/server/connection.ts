// One client connection: frames in, responses out in request order. Several requests may
// be in flight at once (clients pipeline); reading pauses when too many are queued or when
// the socket's send buffer is not draining (backpressure), and idle connections close
// after connections.max.idle.ms.

import { type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { type ConnectionInfo } from '../broker/api-handler.js';
import { type Logger } from '../logger.js';
import { type ConnectionSecurity } from '../security/connection-security.js';
import { type RequestMemory } from '../security/request-memory.js';
import { CloseConnection, type Dispatcher, type RequestTiming, type ResponseChunks } from './dispatcher.js';
import { FrameReader, FrameTooLargeError } from './frame-reader.js';

/** A records chunk that can be written to a socket without passing through the JS heap. */
export interface OutboundRecords {
  readonly byteLength: number;
  /** Bytes to hand to the socket (e.g. a view of a memory-mapped segment). */
  readonly buffer: Buffer;
  /** Called once the socket no longer needs the bytes. */
  release(): void;
  /**
   * Sends the bytes straight to a TCP socket's descriptor (sendfile from the page cache), as
   * many as the socket takes now; returns how many went out.
   */
  sendTo?(socketFd: number): number;
}

/** One answered request's stamps (performance.now()), as the metrics read them. */
export interface SentRequest extends RequestTiming {
  /** The socket read that brought the request's frame. */
  readonly receivedAt: number;
  /** The response encoded (or none due). */
  readonly doneAt: number;
}

/**
 * Where a connection reports each answered request (the metrics: Kafka's RequestMetrics
 * times), once its response was written (`writtenAt`) and handed to the kernel (`sentAt`).
 */
export interface RequestTimesSink {
  responseSent(request: SentRequest, writtenAt: number, sentAt: number): void;
}

/** Byte counts shared by every connection of a server (read by the metrics). */
export interface NetworkTotals {
  /** Record bytes that went to sockets with sendfile(2) rather than through Node. */
  sentDirectBytes: number;
}

/** A request read and not yet answered; its stamps are read only when options.requestTimes is set. */
interface Pending extends SentRequest {
  /** Bytes of the request frame (with its size prefix), held in queued.max.request.bytes. */
  bytes: number;
  done: boolean;
  response: ResponseChunks | null;
  doneAt: number;
}

export interface ConnectionOptions {
  readonly maxFrameBytes: number;
  readonly maxInFlight: number;
  readonly idleTimeoutMs: number;
  /** The broker-wide queued.max.request.bytes pool (src/security/request-memory.ts). */
  readonly memory?: RequestMemory;
  /** A request frame must arrive whole within this time (0: no limit). */
  readonly requestReadTimeoutMs?: number;
  /** A SASL connection must be authenticated within this time (0: no limit). */
  readonly authenticationTimeoutMs?: number;
  /** Where the connection counts what it sends directly. */
  readonly network?: NetworkTotals;
  /** Where it reports request times (the metrics); unset: no clock is read. */
  readonly requestTimes?: RequestTimesSink;
}

/** Above this many unsent bytes the connection stops reading new requests. */
const WRITE_HIGH_WATER = 4 * 1024 * 1024;
/**
 * Records chunks this large go to a plain TCP socket with sendfile(2): the bytes are copied
 * from the page cache into the socket by the kernel and never become a Buffer in the process
 * (each mapped Buffer counts as V8 external memory and a fetch-heavy broker made them fast
 * enough to run a major GC many times a second). Smaller chunks are written with the
 * response header in one writev.
 */
const DIRECT_SEND_MIN_BYTES = 64 * 1024;

const EMPTY = Buffer.alloc(0);

export class Connection implements ConnectionInfo {
  readonly remoteAddress: string;
  readonly remoteHost: string;
  readonly closed: Promise<void>;
  private readonly frames: FrameReader;
  private readonly queue: Pending[] = [];
  private isClosed = false;
  private drainStarted = false;
  /** closeAfterDrain(): what arrives now is read and dropped. */
  private discarding = false;
  private readonly stopListeners = new Set<() => void>();
  private resolveDraining!: () => void;
  /** Resolves when drain() starts (ConnectionInfo.draining). */
  readonly draining: Promise<void> = new Promise((resolve) => (this.resolveDraining = resolve));
  private resolveClosed!: () => void;
  /** Plain TCP: large records chunks may go out with sendfile (TLS must encrypt them). */
  private readonly directSend: boolean;
  /** Bytes read and not yet given back to options.memory. */
  private heldBytes = 0;
  private waitingForMemory = false;
  private throttledUntil = 0;
  private readTimer: NodeJS.Timeout | undefined;
  private authenticationTimer: NodeJS.Timeout | undefined;
  /** Responses of the current flush, kept for their send time (reused, not reallocated). */
  private readonly flushed: Pending[] = [];
  private readonly resumeForMemory = () => {
    this.waitingForMemory = false;
    this.maybeResume();
  };

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
    private readonly options: ConnectionOptions,
    /** Listener, protocol and principal; the socket is a TLSSocket on SSL listeners. */
    readonly security: ConnectionSecurity,
  ) {
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.remoteHost = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    this.frames = new FrameReader(options.maxFrameBytes);
    this.directSend = !(socket instanceof TLSSocket);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.setNoDelay(true);
    if (options.idleTimeoutMs > 0) {
      socket.setTimeout(options.idleTimeoutMs, () => this.close(`idle for ${options.idleTimeoutMs} ms (connections.max.idle.ms)`));
    }
    const authenticationTimeoutMs = options.authenticationTimeoutMs ?? 0;
    if (!security.authenticated && authenticationTimeoutMs > 0) {
      this.authenticationTimer = setTimeout(() => {
        // A KIP-368 re-authentication in progress is not a connection that never authenticated.
        if (!this.security.authenticated && !this.security.reauthenticating) this.close(`not authenticated within ${authenticationTimeoutMs} ms (spate.authentication.timeout.ms)`);
      }, authenticationTimeoutMs);
      this.authenticationTimer.unref();
    }
    if (!this.directSend || !readIntoOwnBuffers(socket, this.frames, (bytes) => this.onRead(bytes))) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (error) => this.logger.debug(`connection ${this.id} ${this.remoteAddress}: ${error.message}`));
    socket.on('close', () => this.onSocketClosed());
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  get stopping(): boolean {
    return this.isClosed || this.drainStarted;
  }

  onStop(listener: () => void): () => void {
    if (this.stopping) {
      queueMicrotask(listener);
      return noop;
    }
    this.stopListeners.add(listener);
    return () => this.stopListeners.delete(listener);
  }

  /** Runs the onStop listeners (the connection closed or started draining). */
  private notifyStop(): void {
    if (this.stopListeners.size === 0) return;
    const listeners = [...this.stopListeners];
    this.stopListeners.clear();
    for (const listener of listeners) listener();
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /**
   * Stops reading for good (answering a request no longer resumes the socket); resolves
   * once every request already read is answered and the answers have left Node's buffer.
   */
  async drain(): Promise<void> {
    this.drainStarted = true;
    this.socket.pause();
    this.resolveDraining();
    this.notifyStop();
    while ((this.queue.length > 0 || this.socket.writableLength > 0) && !this.isClosed) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Ends a drained connection without losing answers already sent. A socket closed while
   * requests sit unread in its receive buffer sends a reset, and a reset makes the client's
   * kernel drop answers the client had not read yet: a pipelining client that kept sending
   * during the drain lost its last answers that way. So the connection sends its FIN, reads
   * and drops whatever still arrives, and closes once the client has closed too, or after
   * `lingerMs`.
   */
  closeAfterDrain(lingerMs = 200): void {
    if (this.isClosed) return;
    this.discarding = true;
    this.socket.once('end', () => this.close());
    setTimeout(() => this.close(), lingerMs).unref();
    this.socket.end();
    this.socket.resume();
  }

  close(reason?: string): void {
    if (this.isClosed) return;
    if (reason !== undefined) this.logger.info(`Closing connection ${this.id} from ${this.remoteAddress}: ${reason}`);
    this.isClosed = true;
    this.socket.destroy();
    this.releaseQueued();
    this.releaseResources();
    this.resolveClosed();
    this.notifyStop();
  }

  throttle(ms: number): void {
    if (ms <= 0 || this.isClosed) return;
    this.throttledUntil = Math.max(this.throttledUntil, Date.now() + ms);
    this.socket.pause();
    setTimeout(() => this.maybeResume(), ms + 1).unref();
  }

  /** Gives back the request memory and stops the timers (the connection is gone). */
  private releaseResources(): void {
    clearTimeout(this.readTimer);
    clearTimeout(this.authenticationTimer);
    this.options.memory?.forget(this.resumeForMemory);
    this.options.memory?.release(this.heldBytes);
    this.heldBytes = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed || this.discarding) return;
    this.holdRead(chunk.length);
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (error) {
      this.framingFailed(error);
      return;
    }
    this.startRequests(frames);
  }

  /** Plain TCP: `bytes` were read into the frame reader's own buffer. */
  private onRead(bytes: number): void {
    if (this.isClosed || this.discarding) return;
    this.holdRead(bytes);
    let frames: Buffer[];
    try {
      frames = this.frames.received(bytes);
    } catch (error) {
      this.framingFailed(error);
      return;
    }
    this.startRequests(frames);
  }

  private holdRead(bytes: number): void {
    this.heldBytes += bytes;
    if (this.options.memory !== undefined && !this.options.memory.hold(bytes)) {
      // Over queued.max.request.bytes: stop reading until another request is answered.
      this.waitingForMemory = true;
      this.socket.pause();
      this.options.memory.whenAvailable(this.resumeForMemory);
    }
  }

  private framingFailed(error: unknown): void {
    if (error instanceof FrameTooLargeError) this.close(error.message);
    else this.close(`framing error: ${(error as Error).message}`);
  }

  private startRequests(frames: Buffer[]): void {
    const receivedAt = this.options.requestTimes === undefined ? 0 : performance.now();
    // The first frame of a read starts at once (a clock read saved); the next ones wait behind it.
    for (let index = 0; index < frames.length; index++) this.startRequest(frames[index]!, receivedAt, index === 0);
    if (this.queue.length >= this.options.maxInFlight) this.socket.pause();
    this.watchPartialFrame();
  }

  /** A frame begun but not finished must be completed in time (a slow sender is closed). */
  private watchPartialFrame(): void {
    const timeoutMs = this.options.requestReadTimeoutMs ?? 0;
    if (this.frames.bufferedBytes === 0 || timeoutMs <= 0) {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
    } else if (this.readTimer === undefined) {
      this.readTimer = setTimeout(() => {
        if (this.frames.bufferedBytes > 0) this.close(`request not received whole within ${timeoutMs} ms (spate.request.read.timeout.ms)`);
      }, timeoutMs);
      this.readTimer.unref();
    }
  }

  private startRequest(frame: Buffer, receivedAt: number, first: boolean): void {
    if (this.isClosed) return;
    const timed = this.options.requestTimes !== undefined;
    // apiKey -1 until the dispatcher reaches the handler; startedAt 0 asks the dispatcher to read the clock.
    const pending: Pending = {
      bytes: frame.length + 4,
      done: false,
      response: null,
      apiKey: -1,
      apiVersion: 0,
      receivedAt,
      startedAt: first ? receivedAt : 0,
      remoteMs: 0,
      doneAt: 0,
    };
    this.queue.push(pending);
    let result: Promise<ResponseChunks | null>;
    try {
      result = this.dispatcher.dispatch(frame, this, timed ? pending : undefined);
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (response) => {
        if (this.isClosed) {
          releaseChunks(response);
          return;
        }
        pending.done = true;
        pending.response = response;
        // One clock read: the response is ready, and (unless it waits behind an earlier one) written now.
        if (timed) {
          pending.doneAt = performance.now();
          // Refused before a handler ran (no startedAt): no queue time to speak of.
          if (pending.startedAt === 0) pending.startedAt = receivedAt;
        }
        this.flushInOrder(pending.doneAt);
      },
      (error: unknown) => {
        if (error instanceof CloseConnection) this.close(error.message);
        else {
          this.logger.error(`Request on connection ${this.id} failed: ${(error as Error).stack ?? String(error)}`);
          this.close('internal error while handling a request');
        }
      },
    );
  }

  /** Writes every finished response at the head of the queue: responses keep request order. */
  /** `now`: performance.now() when timed (the metrics), else 0. */
  private flushInOrder(now: number): void {
    if (this.isClosed) {
      this.releaseQueued();
      return;
    }
    if (this.queue.length === 0 || !this.queue[0]!.done) return;
    const times = this.options.requestTimes;
    this.socket.cork();
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const pending = this.queue.shift()!;
      this.heldBytes -= pending.bytes;
      this.options.memory?.release(pending.bytes);
      if (pending.response !== null) this.writeChunks(pending.response);
      if (times !== undefined) this.flushed.push(pending);
      if (this.security.closeAfterResponse) break;
    }
    this.socket.uncork();
    if (times !== undefined) this.reportTimes(times, now);
    if (this.security.closeAfterResponse) {
      // A failed SASL authentication: its error answer is the last thing sent (Kafka closes too).
      this.logger.info(`Closing connection ${this.id} from ${this.remoteAddress}: SASL authentication failed`);
      this.isClosed = true;
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref();
      this.releaseQueued();
      this.releaseResources();
      this.resolveClosed();
      this.notifyStop();
      return;
    }
    this.maybeResume();
  }

  /**
   * The flushed responses' times. Written at once (Node's buffer empty after the write, the
   * usual case): sent when written, no clock read and no allocation (the write call itself,
   * a few µs, is not timed). Otherwise sent when the bytes queued before an empty marker
   * write have left.
   */
  private reportTimes(times: RequestTimesSink, writtenAt: number): void {
    if (this.socket.writableLength === 0 || this.isClosed) {
      reportFlushed(times, this.flushed, writtenAt, writtenAt);
      this.flushed.length = 0;
      return;
    }
    const waiting = this.flushed.splice(0);
    this.socket.write(EMPTY, () => reportFlushed(times, waiting, writtenAt, performance.now()));
  }

  private writeChunks(chunks: ResponseChunks): void {
    for (const chunk of chunks) {
      if (Buffer.isBuffer(chunk)) {
        this.socket.write(chunk);
        continue;
      }
      const records = chunk as OutboundRecords;
      const sent = this.sendDirect(records);
      if (sent === records.byteLength) records.release();
      else this.socket.write(sent === 0 ? records.buffer : records.buffer.subarray(sent), () => records.release());
    }
  }

  /**
   * A large records chunk on a plain TCP socket whose queue is empty goes out with sendfile,
   * as much of it as the socket takes now; returns the bytes sent (0: write it through Node).
   * What is corked before it (its response header) is flushed first so the order holds.
   */
  private sendDirect(records: OutboundRecords): number {
    if (!this.directSend || records.sendTo === undefined || records.byteLength < DIRECT_SEND_MIN_BYTES) return 0;
    this.socket.uncork();
    let sent = 0;
    const handle = (this.socket as unknown as { _handle?: { fd?: number; writeQueueSize?: number } | null })._handle;
    if (handle?.fd !== undefined && handle.fd >= 0 && handle.writeQueueSize === 0 && this.socket.writableLength === 0) {
      sent = records.sendTo(handle.fd);
      if (this.options.network !== undefined) this.options.network.sentDirectBytes += sent;
    }
    this.socket.cork();
    return sent;
  }

  private maybeResume(): void {
    if (this.isClosed || this.drainStarted || this.waitingForMemory || this.throttledUntil > Date.now()) return;
    if (this.queue.length < this.options.maxInFlight && this.socket.writableLength < WRITE_HIGH_WATER) {
      if (this.socket.isPaused()) this.socket.resume();
    } else if (this.socket.writableLength >= WRITE_HIGH_WATER) {
      this.socket.pause();
    }
  }

  private releaseQueued(): void {
    for (const pending of this.queue.splice(0)) releaseChunks(pending.response);
  }

  private onSocketClosed(): void {
    if (!this.isClosed) {
      this.isClosed = true;
      this.releaseQueued();
      this.releaseResources();
      this.resolveClosed();
      this.notifyStop();
    }
  }
}

function noop(): void {}

function reportFlushed(times: RequestTimesSink, flushed: readonly Pending[], writtenAt: number, sentAt: number): void {
  for (const pending of flushed) times.responseSent(pending, writtenAt, sentAt);
}

function releaseChunks(chunks: ResponseChunks | null): void {
  for (const chunk of chunks ?? []) {
    if (!Buffer.isBuffer(chunk)) (chunk as OutboundRecords).release();
  }
}

/**
 * Node's own socket internals behind `net.Socket`'s `onread` option (the symbols the
 * Socket constructor sets), which only sockets made by `net.connect` can ask for: a server's
 * sockets are made by Node. Found once by their descriptions; undefined on a Node without them.
 */
let onreadSymbols: { buffer: symbol; callback: symbol; generator: symbol } | null | undefined;

function findOnreadSymbols(socket: Socket): typeof onreadSymbols {
  if (onreadSymbols !== undefined) return onreadSymbols;
  const named = (name: string) => Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === name);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  onreadSymbols = buffer !== undefined && callback !== undefined && generator !== undefined ? { buffer, callback, generator } : null;
  return onreadSymbols;
}

/**
 * Makes a plain TCP socket read into the frame reader's buffers (what `onread: { buffer,
 * callback }` does for client sockets): no Buffer allocated per read, no Readable stream
 * machinery, and a large frame read straight into its final buffer (frame-reader.ts). After
 * each read Node asks the generator where the next read goes. pause() and resume() stop
 * and restart reading as they do for such sockets. Returns false (the caller reads 'data'
 * events) where Node lacks the internals this needs.
 */
function readIntoOwnBuffers(socket: Socket, frames: FrameReader, onRead: (bytes: number) => void): boolean {
  const symbols = findOnreadSymbols(socket);
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null })._handle;
  if (symbols == null || typeof handle?.useUserBuffer !== 'function') return false;
  const first = frames.readBuffer();
  const internals = socket as unknown as Record<symbol, unknown>;
  internals[symbols.buffer] = first;
  internals[symbols.generator] = () => frames.readBuffer();
  internals[symbols.callback] = (bytes: number) => {
    onRead(bytes);
  };
  handle.useUserBuffer(first);
  // Flowing, so that the peer's end of stream still ends and closes the socket.
  socket.resume();
  return true;
}
