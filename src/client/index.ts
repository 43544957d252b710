/**
 * notbefore/client: the browser side of cookie sessions. No dependencies, no token handling:
 * the access and refresh tokens live in HttpOnly cookies the page cannot read, and the client
 * never decodes a JWT (ASVS 7.2.1). It keeps every tab of the origin in step, refreshes once
 * for all of them, and turns the server's events into app events.
 *
 * @module notbefore/client
 */
export { createAuthClient } from './client.js';
export { describeDevice } from './device.js';
export { AuthClientError } from './http.js';
export { refreshDelay } from './schedule.js';
export type * from './types.js';
