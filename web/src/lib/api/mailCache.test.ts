import { QueryClient, QueryObserver } from "@tanstack/react-query";
import { describe, expect, it, vi, type Mock } from "vitest";
import { mailChangeKey, queryKeys, refreshLists } from "./mailCache";

/** A client showing one mail list, as the mailbox view does. */
async function showList(fetchList: Mock<() => Promise<string[]>>) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const observer = new QueryObserver(client, {
    queryKey: queryKeys.emailList({}),
    queryFn: fetchList,
  });
  const unsubscribe = observer.subscribe(() => undefined);
  await vi.waitFor(() => expect(observer.getCurrentResult().isSuccess).toBe(true));
  fetchList.mockClear();
  return { client, unsubscribe };
}

describe("refreshLists", () => {
  it("refetches the shown list when no change of the user's is in flight", async () => {
    const fetchList = vi.fn(() => Promise.resolve(["a"]));
    const { client, unsubscribe } = await showList(fetchList);
    refreshLists(client);
    await vi.waitFor(() => expect(fetchList).toHaveBeenCalledTimes(1));
    unsubscribe();
  });

  it("only marks the list stale while a change is in flight", async () => {
    const fetchList = vi.fn(() => Promise.resolve(["before the change"]));
    const { client, unsubscribe } = await showList(fetchList);
    let finish: (value: string) => void = () => undefined;
    const mutation = client.getMutationCache().build(client, {
      mutationKey: mailChangeKey,
      mutationFn: () => new Promise<string>((resolve) => (finish = resolve)),
    });
    const pending = mutation.execute(undefined);
    await vi.waitFor(() => expect(client.isMutating({ mutationKey: mailChangeKey })).toBe(1));
    refreshLists(client);
    const query = client.getQueryCache().find({ queryKey: queryKeys.emailList({}) });
    expect(query?.state.isInvalidated).toBe(true);
    expect(query?.state.fetchStatus).toBe("idle");
    expect(fetchList).not.toHaveBeenCalled();
    finish("done");
    await pending;
    unsubscribe();
  });
});
