import type { TestProject } from "vitest/node";
import { closedPort } from "./ports";
import { startReceiver } from "./receiver";

// Runs in Node, not workerd: real HTTP receivers for the deliveries made inside workerd.
export default async function setup({ provide }: TestProject) {
  const receiver = await startReceiver();
  provide("receiverUrl", receiver.url);
  provide("closedPort", await closedPort());
  return () => receiver.close();
}

declare module "vitest" {
  export interface ProvidedContext {
    receiverUrl: string;
    closedPort: number;
  }
}
