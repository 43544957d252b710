// A browser app: only notbefore/client, no Node types.
import { createAuthClient } from 'notbefore/client';

const auth = createAuthClient({ baseUrl: '' });
auth.on('signedOut', ({ reason }) => {
  document.title = `signed out: ${reason}`;
});
await auth.start();
// Under requireVerifiedEmail signup signs nobody in: the union narrows on `checkEmail`.
const result = await auth.signup({ email: 'ann@example.com', password: 'correct horse' });
document.title = 'checkEmail' in result ? `check ${result.email}` : `hello ${result.id}`;
const res: Response = await auth.fetch('/api/orders', { method: 'POST', body: '{}' });
console.log(res.status);
