// A browser app: only notbefore/client, no Node types.
import { createAuthClient } from 'notbefore/client';

const auth = createAuthClient({ baseUrl: '' });
auth.on('signedOut', ({ reason }) => {
  document.title = `signed out: ${reason}`;
});
await auth.start();
const res: Response = await auth.fetch('/api/orders', { method: 'POST', body: '{}' });
console.log(res.status);
