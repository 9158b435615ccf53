/**
 * Starts the serial tests' own RabbitMQ node and points them at it: AMQP_URL (read by
 * test/support/rabbit.ts) and the node's handle (for rabbitmqctl -n). The teardown stops it.
 */
import { BROKER_NODE_ENV, BrokerNode, type BrokerNodeGlobal } from '../support/broker-node';

export default async function brokerSetup(): Promise<void> {
  const node = await BrokerNode.start();
  (globalThis as BrokerNodeGlobal).qblTestBrokerNode = node;
  process.env.AMQP_URL = node.handle.amqpUrl;
  process.env[BROKER_NODE_ENV] = JSON.stringify(node.handle);
  process.stdout.write(`\ntest broker node ${node.handle.nodeName} on 127.0.0.1:${node.handle.amqpPort}\n`);
}
