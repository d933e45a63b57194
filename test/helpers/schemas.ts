/**
 * Which schema decodes a kernel message, by protocol and message type: used
 * by the tests that sweep every recorded fixture (round trips, mutations).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageSchema } from '../../src/netlink/message.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import { linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import { routeSchema } from '../../src/rtnetlink/schema/route.js';
import { FIXTURES_DIR } from './fixtures.js';

const ROUTE_SCHEMAS: Record<number, MessageSchema> = {
  // NEW, DEL, GET (and SETLINK): requests and replies share a schema.
  16: linkSchema, 17: linkSchema, 18: linkSchema, 19: linkSchema,
  20: addressSchema, 21: addressSchema, 22: addressSchema,
  24: routeSchema, 25: routeSchema, 26: routeSchema,
  28: neighbourSchema, 29: neighbourSchema, 30: neighbourSchema,
};

export function schemaFor(protocol: number, type: number): MessageSchema | undefined {
  if (protocol === 0) return ROUTE_SCHEMAS[type];
  return undefined;
}

/** Every committed fixture file, as paths. */
export function allFixtureFiles(dir = FIXTURES_DIR): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...allFixtureFiles(path));
    else if (entry.name.endsWith('.nlfix')) out.push(path);
  }
  return out.sort();
}
