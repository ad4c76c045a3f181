import { describe, expect, it } from "vitest";
import { attemptDelivery } from "../../src/delivery/attempt";
import { bucket, received, receiverUrl } from "./helpers";

describe("the target URL rules at delivery time", () => {
  it("refuses a stored URL that the policy no longer allows, without sending anything", async () => {
    const name = bucket("guard");
    const target = { url: receiverUrl(name), authorization: null, secrets: ["whsec_ZG9vcmJlbGwtdGVzdC1ndWFyZC1zZWNyZXQtMzJieXRlcyE="] };
    const request = { target, messageId: crypto.randomUUID(), body: "{}", timeoutMs: 2000 };

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

  it("refuses a stored single-label name under the http-only policy: the review reached an internal service as http://vm:<port>", async () => {
    const name = bucket("vm");
    const port = new URL(receiverUrl(name)).port;
    const target = { url: `http://vm:${port}/${name}/status-403`, authorization: null, secrets: [] };
    const refused = await attemptDelivery({ target, messageId: crypto.randomUUID(), body: "{}", timeoutMs: 2000, policy: { allowHttp: true, allowPrivate: false } });
    expect(refused.error).toMatch(/^target URL refused: must name a public host/);
    expect(await received(name)).toHaveLength(0);
  });

  it("refuses metadata addresses even under the development policy", async () => {
    const target = { url: "http://169.254.169.254/latest/meta-data/", authorization: null, secrets: [] };
    const refused = await attemptDelivery({ target, messageId: crypto.randomUUID(), body: "{}", timeoutMs: 2000, policy: { allowHttp: true, allowPrivate: true } });
    expect(refused).toMatchObject({ outcome: "network_error", status: null, error: "target URL refused: must not point at a cloud metadata or link-local address (refused in every mode)" });
  });
});

