/** Matrix user ids by the specification's grammar, and which ones the Matrix channel lets be linked. */
import { describe, expect, it } from 'vitest';
import { matrixUserIdProblem } from '../../appservice/transport/matrix-ids.ts';
import { matrixLinkChannel } from '../../appservice/identity/matrix-link-channel.ts';

describe('Matrix user ids', () => {
  it('accepts ids of the current and the historical grammar, with any kind of server name', () => {
    for (const id of ['@alice:example.org', '@a.b_c=d-e/f+g:matrix.org', '@Alice!:old.example', '@x:localhost:8448', '@x:127.0.0.1', '@x:[::1]:8448', '@x:[2001:db8::1]', `@${'a'.repeat(240)}:example.org`]) {
      expect(matrixUserIdProblem(id), id).toBeNull();
    }
  });

  it('refuses what is not one, saying why', () => {
    expect(matrixUserIdProblem('alice:example.org')).toContain('must start with @');
    expect(matrixUserIdProblem('@alice')).toContain('server name after a colon');
    expect(matrixUserIdProblem('@:example.org')).toContain('empty localpart');
    expect(matrixUserIdProblem('@al ice:example.org')).toContain('characters Matrix does not allow');
    expect(matrixUserIdProblem('@älice:example.org')).toContain('characters Matrix does not allow');
    expect(matrixUserIdProblem('@alice\u0000:example.org')).toContain('characters Matrix does not allow');
    expect(matrixUserIdProblem(`@${'a'.repeat(250)}:example.org`)).toContain('longer than 255 bytes');
    expect(matrixUserIdProblem('@alice:exa mple.org')).toContain('invalid server name');
    expect(matrixUserIdProblem('@alice:example.org:99999')).toContain('invalid port');
    expect(matrixUserIdProblem('@alice:example.org:')).toContain('invalid port');
    expect(matrixUserIdProblem('@alice:[::1')).toContain('invalid server name');
    expect(matrixUserIdProblem('@alice:exam_ple.org')).toContain('invalid server name');
  });

  it("the Matrix channel never links Mosaic's own users, and redeems with `!link` sent to the bot", () => {
    const channel = matrixLinkChannel('example.org');
    expect(channel.problemWithUserId('@mosaic-bot:example.org')).toContain("Mosaic's own");
    expect(channel.problemWithUserId('@mosaic_agent_x:example.org')).toContain("Mosaic's own");
    expect(channel.problemWithUserId('@mosaic_agent_x:elsewhere.org')).toBeNull();
    expect(channel.redeem('abc')).toEqual({ line: '!link abc', where: 'in a direct message to @mosaic-bot:example.org on Matrix' });
  });
});
