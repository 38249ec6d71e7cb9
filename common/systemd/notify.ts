/**
 * systemd's notify protocol (sd_notify(3)) for Type=notify units: READY=1 once the service works,
 * WATCHDOG=1 pings while it stays alive, STOPPING=1 on shutdown, STATUS= for `systemctl status`.
 *
 * Node cannot send unix datagrams, so the send goes through the native addon's sdNotify(). Outside
 * systemd ($NOTIFY_SOCKET unset) every call is a no-op returning false, so the same code runs in
 * tests, the demo and a terminal.
 *
 * The control plane uses this module too: it loads the same addon when the install has it (every
 * install does: deploy/install.sh copies it), instead of shelling out to `systemd-notify`, whose
 * message systemd 252 may fail to attribute to the unit once that short-lived process has exited.
 */
import { loadNative } from '../../native/index.js';

/** Sends one notify datagram; true when sent, false when there is no $NOTIFY_SOCKET. */
export type NotifySend = (state: string) => boolean;

export interface NotifierOptions {
  /** Default: process.env. Read at each call for NOTIFY_SOCKET, at startWatchdog() for the watchdog. */
  env?: NodeJS.ProcessEnv;
  /** Default: the native addon's sdNotify. */
  send?: NotifySend;
  /** Told when a send fails (the service keeps running; systemd will notice a missing READY/WATCHDOG). */
  onError?: (err: Error, state: string) => void;
}

export interface WatchdogTimer {
  /** Ping period in ms (half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises). */
  readonly intervalMs: number;
  stop(): void;
}

export interface SystemdNotifier {
  /** True when started by systemd with a notify socket. */
  readonly enabled: boolean;
  /** READY=1 (plus STATUS=, when given): the unit is "active (running)" from here. */
  ready(status?: string): boolean;
  /** STATUS=<text>, shown by `systemctl status`. */
  status(text: string): boolean;
  /** One WATCHDOG=1 ping. */
  watchdog(): boolean;
  /** STOPPING=1 (plus STATUS=): shutdown has begun. */
  stopping(status?: string): boolean;
  /**
   * Pings WATCHDOG=1 every $WATCHDOG_USEC/2 while `isLive()` says so; a stuck event loop or a false
   * `isLive()` lets systemd's watchdog restart the service. Undefined when the unit has no WatchdogSec
   * (or $WATCHDOG_PID names another process). The timer does not keep the process alive.
   */
  startWatchdog(isLive?: () => boolean): WatchdogTimer | undefined;
}

/** Period for WATCHDOG=1 pings from the environment, or undefined when the watchdog is off for us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** STATUS= text is one line of the datagram: newlines would start new assignments. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 1024);

const nativeSend: NotifySend = (state) => loadNative().sdNotify(state);

export function createSystemdNotifier(options: NotifierOptions = {}): SystemdNotifier {
  const env = options.env ?? process.env;
  const send = options.send ?? nativeSend;
  const hasSocket = (): boolean => (env['NOTIFY_SOCKET'] ?? '') !== '';
  const notify = (lines: string[]): boolean => {
    if (!hasSocket()) return false;
    const state = lines.join('\n');
    try {
      return send(state);
    } catch (err) {
      options.onError?.(err as Error, state);
      return false;
    }
  };
  const withStatus = (first: string, status: string | undefined): string[] =>
    status === undefined ? [first] : [first, `STATUS=${oneLine(status)}`];

  return {
    get enabled() { return hasSocket(); },
    ready: (status) => notify(withStatus('READY=1', status)),
    status: (text) => notify([`STATUS=${oneLine(text)}`]),
    watchdog: () => notify(['WATCHDOG=1']),
    stopping: (status) => notify(withStatus('STOPPING=1', status)),
    startWatchdog(isLive = () => true) {
      const intervalMs = watchdogIntervalMs(env);
      if (intervalMs === undefined || !hasSocket()) return undefined;
      const timer = setInterval(() => { if (isLive()) notify(['WATCHDOG=1']); }, intervalMs);
      timer.unref();
      return { intervalMs, stop: () => clearInterval(timer) };
    },
  };
}

let shared: SystemdNotifier | undefined;
const notifier = (): SystemdNotifier => (shared ??= createSystemdNotifier());

/** READY=1 through the process-wide notifier (see SystemdNotifier.ready). */
export const ready = (status?: string): boolean => notifier().ready(status);
/** WATCHDOG=1 through the process-wide notifier. */
export const watchdog = (): boolean => notifier().watchdog();
/** STOPPING=1 through the process-wide notifier. */
export const stopping = (status?: string): boolean => notifier().stopping(status);
/** STATUS=<text> through the process-wide notifier. */
export const status = (text: string): boolean => notifier().status(text);
/** Starts the process-wide watchdog timer (see SystemdNotifier.startWatchdog). */
export const startWatchdog = (isLive?: () => boolean): WatchdogTimer | undefined => notifier().startWatchdog(isLive);
