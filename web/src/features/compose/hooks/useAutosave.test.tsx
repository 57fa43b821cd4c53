import { act, renderHook } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AUTOSAVE_DELAY_MS, useAutosave } from "./useAutosave";

describe("useAutosave", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup(initial = "") {
    const save = vi.fn(() => Promise.resolve());
    const hook = renderHook(({ content }) => useAutosave(content, save), {
      initialProps: { content: initial },
    });
    return { save, ...hook };
  }

  it("does not save the content the editor starts with", () => {
    const { save } = setup("Dear Ada,");
    act(() => void vi.advanceTimersByTime(10 * AUTOSAVE_DELAY_MS));
    expect(save).not.toHaveBeenCalled();
  });

  it("saves once, two seconds after the last edit", () => {
    const { save, rerender } = setup();
    rerender({ content: "H" });
    act(() => void vi.advanceTimersByTime(1_500));
    rerender({ content: "He" });
    act(() => void vi.advanceTimersByTime(1_500));
    rerender({ content: "Hello" });
    act(() => void vi.advanceTimersByTime(AUTOSAVE_DELAY_MS - 1));
    expect(save).not.toHaveBeenCalled();
    act(() => void vi.advanceTimersByTime(1));
    expect(save).toHaveBeenCalledTimes(1);
    act(() => void vi.advanceTimersByTime(10 * AUTOSAVE_DELAY_MS));
    expect(save).toHaveBeenCalledTimes(1);
  });

  it("saves again after a later edit, also back to the first text", () => {
    const { save, rerender } = setup("a");
    rerender({ content: "ab" });
    act(() => void vi.advanceTimersByTime(AUTOSAVE_DELAY_MS));
    rerender({ content: "a" });
    act(() => void vi.advanceTimersByTime(AUTOSAVE_DELAY_MS));
    expect(save).toHaveBeenCalledTimes(2);
  });

  it("flush saves a pending edit at once and only once", async () => {
    const { save, rerender, result } = setup();
    rerender({ content: "Hello" });
    await act(() => result.current.flush());
    expect(save).toHaveBeenCalledTimes(1);
    act(() => void vi.advanceTimersByTime(10 * AUTOSAVE_DELAY_MS));
    expect(save).toHaveBeenCalledTimes(1);
    await act(() => result.current.flush());
    expect(save).toHaveBeenCalledTimes(1);
  });

  it("cancel drops a pending edit", () => {
    const { save, rerender, result } = setup();
    rerender({ content: "Hello" });
    act(() => result.current.cancel());
    act(() => void vi.advanceTimersByTime(10 * AUTOSAVE_DELAY_MS));
    expect(save).not.toHaveBeenCalled();
  });
});
