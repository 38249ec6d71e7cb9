/** The agent's admin endpoint and metrics (the control plane reuses the server and the writer). */
export { startAdminServer, parseAdminListen, AdminErrorCode, type AdminServer, type AdminServerOptions, type HealthState } from './server.js';
export { AgentMetrics, type AgentMetricsSources } from './agent-metrics.js';
export { renderExposition, LabelledCounter, EXPOSITION_CONTENT_TYPE, type MetricFamily, type MetricType, type Sample } from '../../common/metrics/exposition.js';
