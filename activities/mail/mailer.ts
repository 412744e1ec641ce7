// Mail leaves the platform through this interface. The embedded implementation writes each message
// to a folder (an .eml a mail client opens, and a .json a test or tool reads); a production mailer
// (SMTP, a provider's API) implements the same method. Delivery is keyed by the message id, so
// sending the same message twice leaves one copy.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MailMessage {
  /** Stable id of this message (the outbox row id): the same id delivered twice is one message. */
  id: string;
  from: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}

const safeId = /^[A-Za-z0-9-]{1,128}$/;

/** RFC 5322 header value: no line breaks, non-ASCII as an RFC 2047 encoded word. */
function headerValue(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat).toString('base64')}?=`;
}

export function toEml(message: MailMessage, date: Date): string {
  const headers = [
    `Message-ID: <${message.id}@vlinders>`,
    `Date: ${date.toUTCString()}`,
    `From: ${headerValue(message.from)}`,
    `To: ${headerValue(message.to)}`,
    `Subject: ${headerValue(message.subject)}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
  ];
  const body = Buffer.from(message.text).toString('base64').replace(/.{76}/g, '$&\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${body}\r\n`;
}

/** Embedded mailer: one <id>.eml and <id>.json per message, written atomically (temp file, rename). */
export class FileMailer implements Mailer {
  constructor(readonly directory: string) {}

  async send(message: MailMessage): Promise<void> {
    if (!safeId.test(message.id))
      throw new Error(`mail id ${JSON.stringify(message.id)} is not a safe file name`);
    await mkdir(this.directory, { recursive: true });
    const date = new Date();
    await this.writeAtomically(`${message.id}.eml`, toEml(message, date));
    await this.writeAtomically(
      `${message.id}.json`,
      `${JSON.stringify({ ...message, date: date.toISOString() }, null, 2)}\n`,
    );
  }

  private async writeAtomically(name: string, content: string): Promise<void> {
    const target = join(this.directory, name);
    const temp = `${target}.${process.pid}.tmp`;
    await writeFile(temp, content);
    await rename(temp, target);
  }
}
