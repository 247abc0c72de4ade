/**
 * @module config/secrets
 * Facts about secret config values shared by every part that checks them (the control
 * server's token, the NATS credentials).
 */

/** Values in k8s/base/secrets.env begin with this: a deployment that still has them is not secret. */
export const PLACEHOLDER_PREFIX = 'CHANGE_ME';
