/** A small JSON-RPC caller for tests, speaking to the sidecar over real HTTP. */
import { API_KEY } from './env.js';

export interface RpcAnswer {
  status: number;
  body: unknown;
}

export async function post(url: string, body: string, key: string | null = API_KEY): Promise<RpcAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${url}/rpc`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

export async function call(url: string, method: string, params: unknown, key: string | null = API_KEY) {
  const answer = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), key);
  return answer.body as { result?: any; error?: { code: number; message: string; data?: any } };
}
