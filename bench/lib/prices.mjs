/**
 * Cloudflare's published prices (Workers Paid plan, usage beyond the included amounts), as read on
 * PRICES_READ_ON from developers.cloudflare.com (the pages' sources in cloudflare/cloudflare-docs).
 * The included monthly allowances and the $5 plan fee are left out: these are marginal prices.
 */
export const PRICES_READ_ON = "2026-11-22";

export const PRICES = {
  workerRequestPerMillion: 0.3, // Workers Standard: requests, +$0.30 per million
  workerCpuPerMillionMs: 0.02, // Workers Standard: +$0.02 per million CPU milliseconds
  queueOperationPerMillion: 0.4, // Queues: +$0.40 per million operations (64 KB written, read or deleted)
  durableObjectRequestPerMillion: 0.15, // Durable Objects: +$0.15 per million requests (RPC calls, alarms)
  durableObjectGbSecondPerMillion: 12.5, // Durable Objects: +$12.50 per million GB-s of duration (128 MB per object)
  sqliteRowReadPerMillion: 0.001, // SQLite-backed Durable Objects: +$0.001 per million rows read
  sqliteRowWrittenPerMillion: 1.0, // SQLite-backed Durable Objects: +$1.00 per million rows written (each setAlarm is one)
  sqliteStoredGbMonth: 0.2, // SQLite-backed Durable Objects: +$0.20 per GB-month stored
};

export const PRICE_SOURCES = [
  "https://developers.cloudflare.com/workers/platform/pricing/",
  "https://developers.cloudflare.com/queues/platform/pricing/",
  "https://developers.cloudflare.com/durable-objects/platform/pricing/",
];

const DURABLE_OBJECT_GB = 0.128;

/**
 * Dollars per million deliveries, line by line, from what one counted run used for `deliveries`.
 * `cpuMsPerDelivery` and `storedBytesPerDelivery` come from the local process and its files.
 */
export function dollarsPerMillionDeliveries(usage, deliveries, { cpuMsPerDelivery, storedBytesPerDelivery, retentionMonths }) {
  const perDelivery = (count) => count / deliveries;
  const { worker, queue, durableObjects } = usage;
  const doRequests = sum(Object.values(durableObjects.rpc)) + sum(Object.values(durableObjects.alarms));
  const lines = {
    workerRequests: perDelivery(worker.httpRequests + worker.queueInvocations) * PRICES.workerRequestPerMillion,
    workerCpu: cpuMsPerDelivery * PRICES.workerCpuPerMillionMs,
    queueOperations: perDelivery(queue.writeOps + queue.readOps + queue.deleteOps) * PRICES.queueOperationPerMillion,
    durableObjectRequests: perDelivery(doRequests) * PRICES.durableObjectRequestPerMillion,
    durableObjectDuration: perDelivery((durableObjects.activeMs / 1000) * DURABLE_OBJECT_GB) * PRICES.durableObjectGbSecondPerMillion,
    rowsWritten: perDelivery(durableObjects.rowsWritten + durableObjects.setAlarm) * PRICES.sqliteRowWrittenPerMillion,
    rowsRead: perDelivery(durableObjects.rowsRead) * PRICES.sqliteRowReadPerMillion,
    storage: ((storedBytesPerDelivery * 1e6) / 1e9) * retentionMonths * PRICES.sqliteStoredGbMonth,
  };
  return { ...lines, total: sum(Object.values(lines)) };
}

export function sum(values) {
  return values.reduce((total, value) => total + value, 0);
}
