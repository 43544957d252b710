// An app that mails through notbefore/mail's smtpMailer, with nodemailer its only peer.
import { createMailQueue, renderMail, smtpMailer } from 'notbefore/mail';

const mailer = smtpMailer(process.env.SMTP_URL, { from: 'App <no-reply@example.com>' });
const queue = createMailQueue({
  mailer,
  retries: 0,
  onError: (error) => {
    console.error(`mail failed: ${String(error)}`);
    process.exitCode = 1;
  },
});
queue.enqueue(
  renderMail('reset-password', {
    productName: 'App',
    to: process.env.MAIL_TO,
    link: 'https://app.example.com/#reset-password=AAAAAAAAAAAAAAAAAAAAAA',
    expiresAt: Date.now() + 30 * 60_000,
    at: Date.now(),
  }),
);
// Closing delivers what is queued, then closes the mailer.
await queue.close();
console.log('done');
