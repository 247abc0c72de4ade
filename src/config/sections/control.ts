/**
 * @module config/sections/control
 * Who may reach a job and how: the coordinator's HTTP/ws control server (address, bearer
 * token, whether `/metrics` is open) and the TLS files for NATS (the NATS user/password/token
 * are `dist.nats_*`). Secrets come from the environment (Kubernetes Secrets), never from config
 * files in git; convict's `sensitive` keeps them out of printed configs.
 */
import type convict from 'convict';

export interface ControlConfig {
  host: string;
  http_port: number;
  token: string;
  metrics_public: boolean;
  nats_tls_ca: string;
  nats_tls_cert: string;
  nats_tls_key: string;
}

export const controlSchema: convict.Schema<ControlConfig> = {
  host: { doc: 'Address the coordinator\'s control server (dashboard, /api, /ws, /metrics) binds to; 127.0.0.1 keeps it local, 0.0.0.0 in a container (then control.token is required)', format: String, default: '127.0.0.1', env: 'INSTRUCTUE_CONTROL_HOST', arg: 'control-host' },
  http_port: { doc: 'TCP port of the control server; 0 = any free port (printed in the log); k8s/ uses 8080', format: 'port', default: 0, env: 'INSTRUCTUE_CONTROL_PORT', arg: 'http-port' },
  token: { doc: 'Bearer token for /api, /ws and (unless control.metrics_public) /metrics; empty = no auth, allowed only on a loopback host. Set it through the environment, not a file', format: String, default: '', env: 'INSTRUCTUE_TOKEN', sensitive: true },
  metrics_public: { doc: 'Serve /metrics without the token (for a Prometheus scraper inside the cluster network)', format: Boolean, default: true, env: 'INSTRUCTUE_METRICS_PUBLIC' },
  nats_tls_ca: { doc: 'PEM file of the CA that signed the NATS server certificate; set = connect with TLS', format: String, default: '', env: 'INSTRUCTUE_NATS_TLS_CA' },
  nats_tls_cert: { doc: 'PEM client certificate for NATS mutual TLS (with control.nats_tls_key)', format: String, default: '', env: 'INSTRUCTUE_NATS_TLS_CERT' },
  nats_tls_key: { doc: 'PEM private key of control.nats_tls_cert', format: String, default: '', env: 'INSTRUCTUE_NATS_TLS_KEY' },
};
