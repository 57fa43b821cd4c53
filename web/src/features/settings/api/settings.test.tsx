import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetSessionForTests, setAccessToken } from "@/lib/auth/session";
import { settingsKey, useSettings, useUpdateSettings, type Settings } from "./settings";

function settings(enabled: boolean): Settings {
  return {
    ai: {
      enabled,
      local_only: false,
      redact_pii: false,
      summary_language: "auto",
      features: {},
    },
  } as unknown as Settings;
}

/** A response the test hands out when it chooses. */
function later() {
  let answer: (response: Response) => void = () => undefined;
  const response = new Promise<Response>((resolve) => (answer = resolve));
  return { response, answer };
}

describe("useUpdateSettings", () => {
  let onGet: () => Promise<Response>;
  let onPatch: () => Promise<Response>;

  beforeEach(() => {
    resetSessionForTests();
    setAccessToken("token", 900);
    onGet = () => Promise.resolve(Response.json(settings(true)));
    onPatch = () => Promise.resolve(Response.json(settings(false)));
    vi.stubGlobal(
      "fetch",
      vi.fn((input: Request) => (input.method === "PATCH" ? onPatch() : onGet())),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    resetSessionForTests();
  });

  function renderSettings() {
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const wrapper = ({ children }: { children: ReactNode }) => (
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    );
    const hook = renderHook(() => ({ read: useSettings(), write: useUpdateSettings() }), {
      wrapper,
    });
    return { client, ...hook };
  }

  it("keeps a change when a read from before it answers afterwards", async () => {
    const { client, result } = renderSettings();
    await waitFor(() => expect(result.current.read.data?.ai?.enabled).toBe(true));

    // A refetch is in flight (a window focus, another tab's change) when the user clicks.
    const read = later();
    onGet = () => read.response;
    void client.invalidateQueries({ queryKey: settingsKey });
    const fetching = () => client.getQueryState(settingsKey)?.fetchStatus;
    expect(fetching()).toBe("fetching");
    const write = later();
    onPatch = () => write.response;
    act(() => result.current.write.update({ ai: { enabled: false } }));
    const shown = () => client.getQueryData<Settings>(settingsKey)?.ai?.enabled;
    expect(shown()).toBe(false);
    await waitFor(() => expect(result.current.read.data?.ai?.enabled).toBe(false));

    // The read answers with the value from before the click, while the change is still saving.
    act(() => read.answer(Response.json(settings(true))));
    await waitFor(() => expect(fetching()).toBe("idle"));
    expect(shown()).toBe(false);
    expect(result.current.read.data?.ai?.enabled).toBe(false);

    act(() => write.answer(Response.json(settings(false))));
    await waitFor(() => expect(result.current.write.isSuccess).toBe(true));
    expect(result.current.read.data?.ai?.enabled).toBe(false);
  });

  it("puts the old value back when the change fails", async () => {
    onPatch = () =>
      Promise.resolve(
        Response.json(
          { error: { code: "SRV001", message: "Internal error", details: {} } },
          { status: 500 },
        ),
      );
    const { client, result } = renderSettings();
    await waitFor(() => expect(result.current.read.data?.ai?.enabled).toBe(true));
    act(() => result.current.write.update({ ai: { enabled: false } }));
    expect(client.getQueryData<Settings>(settingsKey)?.ai?.enabled).toBe(false);
    await waitFor(() => expect(result.current.write.isError).toBe(true));
    expect(client.getQueryData<Settings>(settingsKey)?.ai?.enabled).toBe(true);
    await waitFor(() => expect(result.current.read.data?.ai?.enabled).toBe(true));
  });
});
