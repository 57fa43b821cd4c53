import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BACKOFF_MAX_MS, CLOSE_AUTH, PING_INTERVAL_MS, RealtimeClient, backoffDelay } from "./ws";

class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text) as Record<string, unknown>);
  }
  close() {
    this.readyState = 3;
  }
  // server side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const last = () => FakeSocket.instances[FakeSocket.instances.length - 1]!;

describe("RealtimeClient", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.instances = [];
    vi.stubGlobal("WebSocket", { OPEN: 1 });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  function client(overrides: Partial<ConstructorParameters<typeof RealtimeClient>[0]> = {}) {
    const events: unknown[] = [];
    const getToken = vi.fn((fresh: boolean) => Promise.resolve(fresh ? "fresh-token" : "token"));
    const onResync = vi.fn();
    const rt = new RealtimeClient({
      url: "ws://localhost/ws",
      getToken,
      onEvent: (event) => events.push(event),
      onResync,
      createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
      random: () => 0.5, // no jitter: exactly the base delay
      ...overrides,
    });
    return { rt, events, getToken, onResync };
  }

  it("authenticates first, then pings every 30 seconds", async () => {
    const { rt, events } = client();
    rt.start();
    await vi.advanceTimersByTimeAsync(0);
    const socket = last();
    socket.open();
    expect(socket.sent).toEqual([{ type: "auth", token: "token" }]);
    socket.receive({ type: "auth_ok", data: { user_id: "u" } });
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS);
    expect(socket.sent.at(-1)).toEqual({ type: "ping" });
    await vi.advanceTimersByTimeAsync(PING_INTERVAL_MS);
    expect(socket.sent.filter((m) => m.type === "ping")).toHaveLength(2);
    socket.receive({ type: "new_email", data: { email_id: "e1" } });
    expect(events).toEqual([{ type: "new_email", data: { email_id: "e1" } }]);
    rt.stop();
  });

  it("reconnects after 1 s doubling to 30 s, then refetches", async () => {
    const { rt, onResync } = client();
    rt.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().receive({ type: "auth_ok", data: {} });
    expect(onResync).not.toHaveBeenCalled();

    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = FakeSocket.instances.length;
      last().drop();
      let waited = 0;
      while (FakeSocket.instances.length === before) {
        await vi.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);

    last().open();
    last().receive({ type: "auth_ok", data: {} });
    expect(onResync).toHaveBeenCalledTimes(1);

    // A working connection resets the backoff.
    last().drop();
    await vi.advanceTimersByTimeAsync(999);
    const count = FakeSocket.instances.length;
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.instances.length).toBe(count + 1);
    rt.stop();
  });

  it("gets a fresh token after the server refused one (4401)", async () => {
    const { rt, getToken } = client();
    rt.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    last().drop(CLOSE_AUTH);
    await vi.advanceTimersByTimeAsync(1000);
    expect(getToken).toHaveBeenLastCalledWith(true);
    last().open();
    expect(last().sent[0]).toEqual({ type: "auth", token: "fresh-token" });
    rt.stop();
  });

  it("does not reconnect after stop", async () => {
    const { rt } = client();
    rt.start();
    await vi.advanceTimersByTimeAsync(0);
    last().open();
    rt.stop();
    last().drop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("adds jitter within ±20 % and never exceeds the cap", () => {
    expect(backoffDelay(0, () => 0)).toBe(800);
    expect(backoffDelay(0, () => 1)).toBe(1200);
    expect(backoffDelay(10, () => 1)).toBe(BACKOFF_MAX_MS);
    expect(backoffDelay(10, () => 0)).toBe(24_000);
  });
});
