/** Stops the serial tests' own RabbitMQ node, whatever the tests' outcome. */
import type { BrokerNodeGlobal } from '../support/broker-node';

export default async function brokerTeardown(): Promise<void> {
  const global = globalThis as BrokerNodeGlobal;
  await global.qblTestBrokerNode?.stop();
  global.qblTestBrokerNode = undefined;
}
