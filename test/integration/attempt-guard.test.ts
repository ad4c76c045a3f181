import { describe, expect, it } from "vitest";
import { attemptDelivery } from "../../src/delivery/attempt";
import { bucket, received, receiverUrl } from "./helpers";

describe("the target URL rules at delivery time", () => {
  it("refuses a stored URL that the policy no longer allows, without sending anything", async () => {
    const name = bucket("guard");
    const target = { url: receiverUrl(name), authorization: null, secrets: ["whsec_ZG9vcmJlbGwtdGVzdC1ndWFyZC1zZWNyZXQtMzJieXRlcyE="] };
    const request = { target, messageId: crypto.randomUUID(), body: "{}", attempt: 1, timeoutMs: 2000 };

    const refused = await attemptDelivery({ ...request, policy: { allowHttp: false, allowPrivate: false } });
    expect(refused).toMatchObject({ outcome: "network_error", status: null });
    expect(refused.error).toMatch(/^target URL refused: must be an https URL/);

    const privateOnly = await attemptDelivery({ ...request, policy: { allowHttp: true, allowPrivate: false } });
    expect(privateOnly.error).toMatch(/^target URL refused: must not point at localhost/);
    expect(await received(name)).toHaveLength(0);

    // The same request under the development policy does go out: the refusals above came from the rules.
    const allowed = await attemptDelivery({ ...request, policy: { allowHttp: true, allowPrivate: true } });
    expect(allowed).toMatchObject({ outcome: "success", status: 200 });
    expect(await received(name)).toHaveLength(1);
  });
});
