import { SMTPServer } from 'smtp-server'
import { simpleParser, type ParsedMail } from 'mailparser'
import type { AddressInfo } from 'node:net'

/** A real SMTP server on loopback that keeps what it receives. */
export class TestSMTP {
  messages: ParsedMail[] = []
  port = 0
  private server: SMTPServer
  private waiters: (() => void)[] = []

  constructor() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, done) => {
        simpleParser(stream).then((m) => {
          this.messages.push(m)
          this.waiters.splice(0).forEach((w) => w())
          done()
        }, done)
      },
    })
  }

  async start() {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok))
    this.port = (this.server.server.address() as AddressInfo).port
  }

  async stop() {
    await new Promise<void>((ok) => this.server.close(() => ok()))
  }

  /** waitFor resolves with the first message to `to` (from the since-th on), waiting up to 15 s. */
  async waitFor(to: string, since = 0): Promise<ParsedMail> {
    const deadline = Date.now() + 15_000
    for (;;) {
      const m = this.messages.slice(since).find((x) => JSON.stringify(x.to).toLowerCase().includes(to.toLowerCase()))
      if (m) return m
      if (Date.now() > deadline) throw new Error(`no e-mail to ${to}; got ${this.messages.length}`)
      await new Promise<void>((ok) => {
        this.waiters.push(ok)
        setTimeout(ok, 500)
      })
    }
  }
}
