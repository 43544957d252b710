// An Express + PostgreSQL app as a user writes it: express.json() first, then the router.
import express from 'express';
import { createAuth } from 'notbefore';
import { notbeforeRouter } from 'notbefore/express';
import { postgresStore } from 'notbefore/postgres';

const store = postgresStore(process.env.PG_URL);
const auth = createAuth({ store, issuer: 'https://auth.consumer.test' });
await auth.ready();

const app = express();
app.use(express.json());
const router = notbeforeRouter(auth);
app.use(router);
app.get('/private', router.authenticate, (req, res) => {
  res.json({ sub: req.auth.sub });
});

const server = app.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  router.close();
  server.closeAllConnections();
  server.close(() => auth.close().then(() => store.close()));
});
