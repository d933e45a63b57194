/** The masquerade block's own failure: a table it was asked to manage that is not its. */
import { ValidationError } from '../netlink/errors.js';

/**
 * A table of the name vxnet was given exists and does not carry vxnet's
 * mark: someone else's. vxnet neither changes nor deletes it.
 */
export class NotOwnedError extends ValidationError {
  override name = 'NotOwnedError';
  constructor(
    readonly family: string,
    readonly table: string,
    detail: string,
  ) {
    super(
      'table',
      `table ${family} ${table} exists and was not created by vxnet (${detail}); vxnet never changes other tables: ` +
        'choose another table name, or delete that table yourself if it is a leftover',
      table,
    );
  }
}
