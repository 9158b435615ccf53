import { createHash } from 'node:crypto';

/**
 * A message's content id: same exchange, routing key and body ⇒ same id. It is a dead letter's
 * `messageId` (so a copy published twice, after a crash between the broker's confirm and our ack,
 * can be recognised) and how the publisher matches a basic.return to the publish it answers.
 */
export function contentId(exchange: string, routingKey: string, body: Buffer): string {
  // Byte lengths make the concatenation unambiguous.
  return createHash('sha1')
    .update(`${Buffer.byteLength(exchange)}:${exchange}\n${Buffer.byteLength(routingKey)}:${routingKey}\n`)
    .update(body)
    .digest('hex');
}
