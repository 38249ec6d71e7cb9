/** systemd integration: sd_notify(3) readiness, watchdog and status for Type=notify units. */
export { createSystemdNotifier, watchdogIntervalMs, ready, watchdog, stopping, status, startWatchdog, type SystemdNotifier, type NotifierOptions, type NotifySend, type WatchdogTimer } from './notify.js';
