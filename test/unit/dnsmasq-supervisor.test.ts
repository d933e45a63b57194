/**
 * The supervisor's decisions, against scripted fake processes: restart with
 * backoff, give up after too many crashes in the window, failed restarts
 * counted as crashes, reload confirmation, controlled restarts, stop.
 * The real dnsmasq is exercised by the integration tests.
 */
import { EventEmitter } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DnsmasqGaveUpError,
  DnsmasqReloadError,
  DnsmasqStartError,
  type DnsmasqExit,
} from '../../src/dnsmasq/errors.js';
import {
  backoffDelay,
  DEFAULT_RESTART_POLICY,
  type ManagedProcess,
  type RestartInfo,
  type RestartPolicy,
  Supervisor,
  validatePolicy,
} from '../../src/dnsmasq/supervisor.js';
import { ValidationError } from '../../src/netlink/errors.js';

const HOSTS = '/state/hosts';

class FakeProcess extends EventEmitter implements ManagedProcess {
  readonly ready: Promise<number>;
  readonly exited: Promise<DnsmasqExit>;
  pid?: number;
  version = '2.90';
  signals: NodeJS.Signals[] = [];
  /** What the fake dnsmasq answers to SIGHUP. */
  onHup: 'read' | 'cannot-read' | 'silent' = 'read';
  private resolveReady!: (pid: number) => void;
  private rejectReady!: (error: Error) => void;
  private resolveExit!: (exit: DnsmasqExit) => void;
  ended = false;

  constructor(readonly serial: number) {
    super();
    this.ready = new Promise((resolve, reject) => ((this.resolveReady = resolve), (this.rejectReady = reject)));
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  becomeReady(): void {
    this.pid = 1000 + this.serial;
    this.resolveReady(this.pid);
  }

  failStart(): void {
    this.rejectReady(
      new DnsmasqStartError(
        'test',
        'exited with code 2',
        ['dnsmasq: failed to bind DHCP server socket: Address in use'],
        { code: 2, signal: null },
      ),
    );
    this.end({ code: 2, signal: null });
  }

  crash(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.end({ code: null, signal });
  }

  end(exit: Pick<DnsmasqExit, 'code' | 'signal'>): void {
    if (this.ended) return;
    this.ended = true;
    this.resolveExit({ ...exit, at: new Date(), stderr: [] });
  }

  signal(signal: NodeJS.Signals): boolean {
    if (this.ended) return false;
    this.signals.push(signal);
    if (signal === 'SIGHUP' && this.onHup !== 'silent') {
      const line =
        this.onHup === 'read'
          ? `dnsmasq-dhcp[2]: read ${HOSTS}`
          : `dnsmasq[2]: cannot read ${HOSTS}: Permission denied`;
      queueMicrotask(() => this.emit('line', line));
    }
    return true;
  }

  kill(): void {
    this.end({ code: null, signal: 'SIGKILL' });
  }

  async terminate(): Promise<DnsmasqExit> {
    this.signals.push('SIGTERM');
    this.end({ code: 0, signal: null });
    return this.exited;
  }

  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const onLine = (line: string) => {
        const value = match(line);
        if (value === undefined) return;
        clearTimeout(timer);
        this.off('line', onLine);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.off('line', onLine);
        reject(new Error(`${what}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('line', onLine);
    });
  }

  stderr(): string[] {
    return [];
  }
}

/** A supervisor whose launches follow a script: each new process becomes ready, or fails its start. */
function harness(policy: Partial<RestartPolicy>, script: ('ready' | 'fail')[] = []) {
  const launched: FakeProcess[] = [];
  const supervisor = new Supervisor(
    () => {
      const proc = new FakeProcess(launched.length);
      launched.push(proc);
      const step = script[launched.length - 1] ?? 'ready';
      queueMicrotask(() => (step === 'ready' ? proc.becomeReady() : proc.failStart()));
      return proc;
    },
    {
      instance: 'test',
      hostsPath: HOSTS,
      policy: { ...DEFAULT_RESTART_POLICY, ...policy },
      stopTimeoutMs: 100,
      reloadTimeoutMs: 50,
    },
  );
  return { supervisor, launched };
}

function next<T>(emitter: EventEmitter, event: string, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

function rejectsField(run: () => unknown, field: string, reason?: RegExp): void {
  try {
    run();
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, field);
    if (reason) assert.match((error as ValidationError).reason, reason);
    return;
  }
  assert.unreachable(`expected a ValidationError for ${field}`);
}

test('restart policy: whole numbers, maxCrashes at least 1, known fields', () => {
  assert.equal(validatePolicy({ maxCrashes: 3 }), {
    initialDelayMs: 100,
    maxDelayMs: 10_000,
    maxCrashes: 3,
    windowMs: 60_000,
  });
  rejectsField(() => validatePolicy({ maxCrashes: 0 }), 'restart.maxCrashes');
  rejectsField(() => validatePolicy({ initialDelayMs: -1 }), 'restart.initialDelayMs');
  rejectsField(() => validatePolicy({ windowMs: 1.5 }), 'restart.windowMs');
  rejectsField(
    () => validatePolicy({ initialDelayMs: 500, maxDelayMs: 100 }),
    'restart.maxDelayMs',
    /less than initialDelayMs/,
  );
  rejectsField(() => validatePolicy({ retries: 3 } as any), 'restart.retries', /unknown field/);
});

test('backoff doubles per crash in the window, up to the maximum', () => {
  const policy = { ...DEFAULT_RESTART_POLICY, initialDelayMs: 100, maxDelayMs: 1000 };
  assert.equal(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n)),
    [100, 200, 400, 800, 1000, 1000],
  );
});

test('a crash is followed by a restart after the backoff delay; status counts it', async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 5 });
  assert.is(await supervisor.start(), 1000);
  assert.is(supervisor.status().state, 'running');
  assert.is(supervisor.status().pid, 1000);
  const exit = next<DnsmasqExit>(supervisor, 'exit');
  const restart = next<RestartInfo>(supervisor, 'restart');
  launched[0]!.crash('SIGKILL');
  assert.is((await exit).signal, 'SIGKILL');
  const info = await restart;
  assert.equal([info.reason, info.pid, info.crashesInWindow, info.delayMs], ['crash', 1001, 1, 5]);
  // Down at least the backoff (less a millisecond of Date.now rounding).
  assert.ok(info.downtimeMs >= info.delayMs - 1, `downtime ${info.downtimeMs} ms`);
  assert.is(info.previousExit?.signal, 'SIGKILL');
  const status = supervisor.status();
  assert.equal(
    [status.state, status.pid, status.restarts, status.crashesInWindow, status.lastExit?.signal],
    ['running', 1001, 1, 1, 'SIGKILL'],
  );
  await supervisor.stop();
  assert.is(supervisor.status().state, 'stopped');
  assert.equal(launched[1]!.signals, ['SIGTERM']);
});

test('after maxCrashes within the window it gives up with an error event, and launches nothing more', async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 2, maxDelayMs: 8, maxCrashes: 4, windowMs: 60_000 });
  await supervisor.start();
  const delays: number[] = [];
  supervisor.on('restart', (info: RestartInfo) => delays.push(info.delayMs));
  const failed = next<Error>(supervisor, 'error');
  const crashNext = (): void => {
    launched.at(-1)!.crash('SIGSEGV');
  };
  supervisor.on('restart', crashNext);
  crashNext();
  const error = await failed;
  assert.instance(error, DnsmasqGaveUpError);
  assert.is((error as DnsmasqGaveUpError).crashes, 4);
  assert.match(
    error.message,
    /failed 4 times within 60 s; no more restarts\. Last failure: dnsmasq was killed by SIGSEGV/,
  );
  assert.equal(delays, [2, 4, 8]);
  assert.is(launched.length, 4);
  assert.is(supervisor.status().state, 'failed');
  await supervisor.stop();
  assert.is(launched.length, 4);
});

test('crashes older than the window are forgotten', async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 1, maxCrashes: 2, windowMs: 30 });
  await supervisor.start();
  let restart = next<RestartInfo>(supervisor, 'restart');
  launched[0]!.crash();
  assert.is((await restart).crashesInWindow, 1);
  // The window is a span of time: let it pass.
  await new Promise((resolve) => setTimeout(resolve, 40));
  restart = next<RestartInfo>(supervisor, 'restart');
  launched[1]!.crash();
  const info = await restart;
  assert.is(info.crashesInWindow, 1);
  assert.is(info.delayMs, 1);
  assert.is(supervisor.status().state, 'running');
  await supervisor.stop();
});

test('a restart that fails its start check counts as another crash', async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 1, maxCrashes: 5 }, ['ready', 'fail', 'fail', 'ready']);
  await supervisor.start();
  const exits: DnsmasqExit[] = [];
  supervisor.on('exit', (exit: DnsmasqExit) => exits.push(exit));
  const restart = next<RestartInfo>(supervisor, 'restart');
  launched[0]!.crash();
  const info = await restart;
  assert.is(info.pid, 1003);
  assert.is(info.crashesInWindow, 3);
  assert.is(info.delayMs, 4);
  assert.equal(
    exits.map((e) => e.code ?? e.signal),
    ['SIGKILL', 2, 2],
  );
  await supervisor.stop();
});

test("a failed first start is thrown to the caller, with dnsmasq's words, and not retried", async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 1 }, ['fail']);
  await supervisor.start().then(
    () => assert.unreachable('should fail'),
    (error) => {
      assert.instance(error, DnsmasqStartError);
      assert.match(
        error.message,
        /failed to start: exited with code 2; dnsmasq said:\n {2}dnsmasq: failed to bind DHCP server socket: Address in use/,
      );
    },
  );
  assert.is(supervisor.status().state, 'stopped');
  assert.is(launched.length, 1);
});

test('reload sends SIGHUP and resolves when dnsmasq confirms it read the hosts file', async () => {
  const { supervisor, launched } = harness({});
  await supervisor.start();
  assert.is(await supervisor.reload(), 'reloaded');
  assert.equal(launched[0]!.signals, ['SIGHUP']);
  assert.is(supervisor.status().reloads, 1);

  launched[0]!.onHup = 'cannot-read';
  await supervisor.reload().then(
    () => assert.unreachable('should fail'),
    (error) => {
      assert.instance(error, DnsmasqReloadError);
      assert.match(error.message, /cannot read \/state\/hosts: Permission denied/);
    },
  );
  launched[0]!.onHup = 'silent';
  await supervisor.reload().then(
    () => assert.unreachable('should time out'),
    (error) => {
      assert.instance(error, DnsmasqReloadError);
      assert.match(error.message, /not seen within 50 ms/);
    },
  );
  assert.is(supervisor.status().reloads, 1);
  await supervisor.stop();
});

test('a reload while a crash restart is pending is deferred to that restart', async () => {
  // Long enough that the reload surely comes first, even on a loaded machine.
  const { supervisor, launched } = harness({ initialDelayMs: 300 });
  await supervisor.start();
  const exit = next(supervisor, 'exit');
  launched[0]!.crash();
  await exit;
  assert.is(supervisor.status().state, 'restarting');
  assert.ok(supervisor.status().nextRestartAt instanceof Date);
  assert.is(await supervisor.reload(), 'deferred');
  await next(supervisor, 'restart');
  await supervisor.stop();
});

test('a controlled restart stops the old process, runs the change while none runs, then starts a new one', async () => {
  const { supervisor, launched } = harness({});
  await supervisor.start();
  const order: string[] = [];
  const restart = next<RestartInfo>(supervisor, 'restart');
  const result = await supervisor.restart(async () => {
    order.push(`between: old ended=${launched[0]!.ended}, launched=${launched.length}`);
  });
  assert.is(result, 'restarted');
  assert.equal(order, ['between: old ended=true, launched=1']);
  const info = await restart;
  assert.equal([info.reason, info.pid, info.crashesInWindow, info.previousExit?.code], ['hosts-changed', 1001, 0, 0]);
  assert.equal([supervisor.status().restarts, supervisor.status().controlledRestarts], [0, 1]);
  await supervisor.stop();
});

test('stop during a backoff cancels the pending restart', async () => {
  const { supervisor, launched } = harness({ initialDelayMs: 200 });
  await supervisor.start();
  const exit = next(supervisor, 'exit');
  launched[0]!.crash();
  await exit;
  await supervisor.stop();
  assert.is(supervisor.status().state, 'stopped');
  // Past the moment the restart was due: nothing was launched.
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.is(launched.length, 1);
});

test.run();
