/**
 * The `/ws` client (docs/realtime.md): authenticates with the access token first, pings every
 * 30 s, re-authenticates when the token changes, and reconnects after any close — 1 s doubling
 * to 30 s with jitter — then tells its owner to refetch, since missed events are not replayed.
 * A close with 4401 (token refused) gets a fresh token before the next attempt.
 */

export interface RealtimeEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface RealtimeOptions {
  url: string;
  /** The current access token, refreshed by the caller when `fresh` is true. */
  getToken: (fresh: boolean) => Promise<string | null>;
  onEvent: (event: RealtimeEvent) => void;
  /** Called after a reconnect was authenticated: refetch what is on screen. */
  onResync?: () => void;
  onStatus?: (status: RealtimeStatus) => void;
  createSocket?: (url: string) => WebSocket;
  random?: () => number;
}

export type RealtimeStatus = "connecting" | "open" | "closed";

export const PING_INTERVAL_MS = 30_000;
export const BACKOFF_START_MS = 1_000;
export const BACKOFF_MAX_MS = 30_000;
export const CLOSE_AUTH = 4401;

/** The wait before reconnect attempt `attempt` (0-based): doubling, capped, ±20 % jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_START_MS * 2 ** attempt, BACKOFF_MAX_MS);
  return Math.round(Math.min(base * (0.8 + 0.4 * random()), BACKOFF_MAX_MS));
}

export function defaultSocketUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/ws`;
}

export class RealtimeClient {
  private socket: WebSocket | null = null;
  private attempt = 0;
  private everOpened = false;
  private authenticated = false;
  private needFreshToken = false;
  private stopped = true;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly options: RealtimeOptions;

  constructor(options: RealtimeOptions) {
    this.options = options;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000);
    this.options.onStatus?.("closed");
  }

  /** Sends a new token on the open connection (before the old one expires). */
  reauthenticate(token: string): void {
    this.send({ type: "auth", token });
  }

  private send(message: Record<string, unknown>): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async connect(): Promise<void> {
    this.options.onStatus?.("connecting");
    let token: string | null;
    try {
      token = await this.options.getToken(this.needFreshToken);
    } catch {
      token = null;
    }
    if (this.stopped) return;
    if (!token) {
      this.scheduleReconnect();
      return;
    }
    this.needFreshToken = false;
    const create = this.options.createSocket ?? ((url: string) => new WebSocket(url));
    const socket = create(this.options.url);
    this.socket = socket;
    this.authenticated = false;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "auth", token }));
    };
    socket.onmessage = (message: MessageEvent) => {
      this.receive(message.data);
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      if (event.code === CLOSE_AUTH) this.needFreshToken = true;
      this.options.onStatus?.("closed");
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private receive(raw: unknown): void {
    if (typeof raw !== "string") return;
    let event: Partial<RealtimeEvent>;
    try {
      event = JSON.parse(raw) as Partial<RealtimeEvent>;
    } catch {
      return;
    }
    if (event.type === "auth_ok") {
      // Also the answer to a re-authentication on an open connection: nothing to do then.
      if (this.authenticated) return;
      this.authenticated = true;
      this.attempt = 0;
      this.startPinging();
      this.options.onStatus?.("open");
      if (this.everOpened) this.options.onResync?.();
      this.everOpened = true;
      return;
    }
    if (event.type === "pong") return;
    if (typeof event.type !== "string") return;
    this.options.onEvent({ type: event.type, data: event.data ?? {} });
  }

  private startPinging(): void {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      this.send({ type: "ping" });
    }, PING_INTERVAL_MS);
  }

  private scheduleReconnect(): void {
    clearTimeout(this.retryTimer);
    const delay = backoffDelay(this.attempt, this.options.random);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
