import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEMO_KLING_KEYS } from '../../src/dev/kling-sim';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run kling-sim', () => {
  it('prints its URL and the demo keys, and answers Kling requests signed with them', async () => {
    const child = spawn(`${root}node_modules/.bin/tsx`, ['src/dev/kling-sim-cli.ts', '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          out += chunk;
          const match = /KLING_API_BASE_URL=(\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`kling-sim exited with ${code}: ${out}`)));
      });
      expect(out).toContain(`KLING_API_KEY=${DEMO_KLING_KEYS.apiKey}`);
      expect(out).toContain(`KLING_SECRET_KEY=${DEMO_KLING_KEYS.secretKey}`);

      const response = await fetch(`${url}/v1/videos/text2video`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEMO_KLING_KEYS.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'hello', external_task_id: 'cli-1' }),
      });
      expect(await response.json()).toMatchObject({
        code: 0,
        data: { task_status: 'submitted', task_info: { external_task_id: 'cli-1' } },
      });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
