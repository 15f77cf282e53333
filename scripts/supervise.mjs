// Runs the demo's servers (scripts/demo.sh) as one thing: it checks that their ports are free, starts
// them, prints the banner only once each answers from its own process, and when one stops or fails to
// start (or on Ctrl-C), stops the others and says in one line which part stopped and why.
//   node scripts/supervise.mjs [--check-ports] [--banner FILE] [--port-hint TEXT] [--pids FILE]
//     [--parent PID] [--wait SECONDS] --part NAME PORT URL COMMAND [ARG...] ';' [--part ...]
// --check-ports only checks that every PORT is free (exit 1 naming who holds each one that is not).
// --banner FILE is printed once every part is ready. --pids FILE holds the parts' process groups while
// any runs, so that the caller can stop them should this process itself be killed. --parent PID: stop
// everything when that process is gone (`npm start` killed: npm passes SIGTERM to its `sh -c`, which
// dies without passing it on, so the demo would otherwise run on, orphaned).
// A part is ready when URL answers below 500 and the socket listening on 127.0.0.1:PORT belongs to
// the part's own processes (checked through /proc where there is one). Exit status: 0 when stopped
// by a signal, 1 when a part stopped, failed to start or a port is taken.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const PREFIX = 'demo:';
const KILL_AFTER_MS = 10_000;

function parse(argv) {
  const options = {
    checkPorts: false,
    banner: '',
    portHint: '',
    pids: '',
    parent: 0,
    waitSeconds: 120,
    parts: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--check-ports') options.checkPorts = true;
    else if (arg === '--banner') options.banner = argv[++i] ?? '';
    else if (arg === '--port-hint') options.portHint = argv[++i] ?? '';
    else if (arg === '--pids') options.pids = argv[++i] ?? '';
    else if (arg === '--parent') options.parent = Number(argv[++i]);
    else if (arg === '--wait') options.waitSeconds = Number(argv[++i]);
    else if (arg === '--part') {
      const [name, port, url] = argv.slice(i + 1, i + 4);
      const end = argv.indexOf(';', i + 4);
      const command = argv.slice(i + 4, end === -1 ? argv.length : end);
      if (!name || !Number.isInteger(Number(port)) || !url || command.length === 0) usage();
      options.parts.push({ name, port: Number(port), url, command });
      i = end === -1 ? argv.length : end;
    } else usage();
  }
  if (options.parts.length === 0 || !(options.waitSeconds > 0)) usage();
  return options;
}

function usage() {
  console.error(
    "usage: supervise.mjs [--check-ports] [--banner FILE] [--port-hint TEXT] [--pids FILE] [--parent PID] [--wait SECONDS] --part NAME PORT URL COMMAND [ARG...] ';' ...",
  );
  process.exit(64);
}

/** true when nothing may listen on 127.0.0.1:port (as the part will), else what stood in the way. */
function portFree(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error) => resolve(error.code ?? String(error)));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Inodes of the sockets listening on `port` (any address), from /proc; undefined without /proc. */
function listeningInodes(port) {
  let seen = false;
  const inodes = new Set();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    seen = true;
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue; // 0A: LISTEN
      if (Number.parseInt(fields[1].split(':').pop(), 16) === port) inodes.add(fields[9]);
    }
  }
  return seen ? inodes : undefined;
}

/** The processes holding one of `inodes` (only those this user may look into). */
function socketOwners(inodes) {
  const owners = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        owners.push(Number(pid));
        break;
      }
    }
  }
  return owners;
}

function describe(pid) {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return `pid ${pid} (${command.length > 90 ? `${command.slice(0, 87)}...` : command})`;
  } catch {
    return `pid ${pid}`;
  }
}

/** The process group of `pid` (field 5 of /proc/PID/stat, after the command name in parentheses). */
function processGroup(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Who listens on `port`: a phrase for a message, or '' when it cannot be told. */
function holderOf(port) {
  const inodes = listeningInodes(port);
  if (!inodes || inodes.size === 0) return '';
  const owners = socketOwners(inodes);
  return owners.length > 0 ? owners.map(describe).join(', ') : 'a process of another user';
}

async function checkPorts(parts, hint) {
  const taken = [];
  for (const part of parts) {
    const free = await portFree(part.port);
    if (free === true) continue;
    const holder = free === 'EADDRINUSE' ? holderOf(part.port) : '';
    const why = free === 'EADDRINUSE' ? 'is in use' : `cannot be used (${free})`;
    taken.push(`${PREFIX} port ${part.port} (${part.name}) ${why}${holder ? ` by ${holder}` : ''}`);
  }
  if (taken.length === 0) return true;
  for (const line of taken) console.error(line);
  console.error(
    `${PREFIX} nothing was started; stop what holds the port${taken.length > 1 ? 's' : ''}${hint ? `, or ${hint}` : ''}`,
  );
  return false;
}

/** The gist of a log line: pino's JSON lines give their message (and error), others are kept as they are. */
function gist(line) {
  const text = line.trim();
  if (text.startsWith('{')) {
    try {
      const entry = JSON.parse(text);
      const error = entry.err?.message ?? entry.err ?? entry.error;
      if (typeof entry.msg === 'string') return error ? `${entry.msg}: ${error}` : entry.msg;
    } catch {
      // Not JSON after all.
    }
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Starts a part in a process group of its own, so Ctrl-C reaches this process only and it stops them in order. */
function start(part, onClose) {
  const [command, ...args] = part.command;
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  part.child = child;
  part.closed = false;
  part.last = '';
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ]) {
    let pending = '';
    stream.on('data', (chunk) => {
      out.write(chunk);
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') part.last = gist(line);
    });
    stream.on('end', () => {
      if (pending.trim() !== '') part.last = gist(pending);
    });
  }
  child.on('error', (error) => {
    part.last = error.message;
  });
  child.on('close', (code, signal) => {
    part.closed = true;
    // A negative code is libuv's: the command could not be started at all (its error is in part.last).
    part.exit = code === null ? `killed by ${signal}` : code < 0 ? 'could not start' : `exit code ${code}`;
    onClose(part);
  });
}

function signalGroup(part, signal) {
  if (part.closed || part.child?.pid === undefined) return;
  try {
    process.kill(-part.child.pid, signal);
  } catch {
    // Already gone.
  }
}

const list = (names) =>
  names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;

async function run(options) {
  const { parts } = options;
  for (const out of [process.stdout, process.stderr]) out.on('error', () => {});
  if (!(await checkPorts(parts, options.portHint))) process.exit(1);
  if (options.checkPorts) return;

  let stopping;
  const stop = (reason, code) => {
    if (stopping) return;
    const running = parts.filter((part) => part.child && !part.closed);
    stopping = { reason, code, stopped: running.map((part) => part.name) };
    for (const part of running) signalGroup(part, 'SIGTERM');
    setTimeout(() => {
      for (const part of parts) signalGroup(part, 'SIGKILL');
    }, KILL_AFTER_MS).unref();
    finishIfDone();
  };
  const finishIfDone = () => {
    if (!stopping || parts.some((part) => part.child && !part.closed)) return;
    const { reason, code, stopped } = stopping;
    if (options.pids) rmSync(options.pids, { force: true });
    const tail = stopped.length > 0 ? `; stopped ${list(stopped)}` : '';
    (code === 0 ? console.log : console.error)(`${PREFIX} ${reason}${tail}`);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
    process.on(signal, () => stop(`${signal}${signal === 'SIGINT' ? ' (Ctrl-C)' : ''} received`, 0));

  // PID 1 (or none) is no parent to watch: the demo was started by init or detached on purpose.
  if (options.parent > 1) {
    setInterval(() => {
      try {
        process.kill(options.parent, 0);
      } catch {
        stop(`the command that started the demo (pid ${options.parent}) is gone`, 1);
      }
    }, 1_000).unref();
  }

  for (const part of parts) {
    start(part, (closed) => {
      // Its last line says why it exited; after a signal, that line is whatever it said before.
      const why =
        closed.last && !closed.exit.startsWith('killed') ? `${closed.exit}: ${closed.last}` : closed.exit;
      stop(`${closed.name} stopped (${why})`, 1);
      finishIfDone();
    });
  }

  if (options.pids) {
    const groups = parts.map((part) => part.child.pid).filter((pid) => pid !== undefined);
    writeFileSync(options.pids, `${groups.join('\n')}\n`);
  }

  // Ready: every part answers at its URL, from its own process.
  const deadline = Date.now() + options.waitSeconds * 1000;
  const pending = new Set(parts);
  let said = Date.now();
  while (pending.size > 0 && !stopping) {
    for (const part of [...pending]) {
      const answer = await fetch(part.url, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      await answer?.body?.cancel();
      if (stopping) return;
      if (!answer || answer.status >= 500) {
        part.waiting = answer ? `answers ${answer.status}` : 'no answer yet';
        continue;
      }
      const inodes = listeningInodes(part.port);
      if (inodes && inodes.size > 0) {
        const owners = socketOwners(inodes);
        if (!owners.some((pid) => processGroup(pid) === part.child.pid)) {
          const holder = owners.length > 0 ? owners.map(describe).join(', ') : 'a process of another user';
          return stop(`port ${part.port} answers, but from ${holder}, not from the demo's ${part.name}`, 1);
        }
      }
      pending.delete(part);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      const late = [...pending].map((part) => `${part.name} (${part.url}: ${part.waiting})`);
      return stop(`${list(late)} not ready after ${options.waitSeconds} s`, 1);
    }
    if (Date.now() - said > 10_000) {
      console.log(`${PREFIX} waiting for ${list([...pending].map((part) => part.name))}`);
      said = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  if (!stopping && options.banner) process.stdout.write(readFileSync(options.banner, 'utf8'));
}

await run(parse(process.argv.slice(2)));
