import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const binary = resolve(process.env.GATEHOUSE_BIN ?? join(import.meta.dirname, '../../build/bin/gatehouse'))

export interface Server {
  url: string
  /** the one-time setup code printed on first run ('' once set up) */
  setupCode: string
  dataDir: string
  /** stop ends the server; unless keepData, its data folder is removed. */
  stop: (keepData?: boolean) => Promise<void>
}

/** startServer runs gatehouse serve --http on a free loopback port with a fresh data folder. */
export async function startServer(prepare?: (dataDir: string) => void, existing?: string): Promise<Server> {
  const dataDir = existing ?? mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'))
  prepare?.(dataDir)
  const child: ChildProcess = spawn(binary, ['serve', '--http', '--addr', '127.0.0.1:0', '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  let out = ''
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('gatehouse did not start:\n' + out + log)), 15_000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = out.match(/Listening on (http:\/\/\S+)/)
      if (m) {
        clearTimeout(timer)
        setTimeout(() => ok(m[1]), 150) // the first-run setup line follows the URLs
      }
    })
    child.on('exit', (code) => fail(new Error(`gatehouse exited with ${code}:\n${out}${log}`)))
  })
  return {
    url,
    setupCode: out.match(/setup\?code=([A-Z0-9]+)/)?.[1] ?? '',
    dataDir,
    stop: async (keepData = false) => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** cli runs a gatehouse command against a data folder (the server must not hold it). */
export function cli(args: string[], input?: string) {
  return spawnSync(binary, args, { input, encoding: 'utf8' })
}
