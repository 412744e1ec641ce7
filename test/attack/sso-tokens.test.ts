// Broken authentication (OWASP API2) for the tokens of an org's identity provider: only an access
// token for the connection's API audience calls the API. An ID token — which every app that signs
// people in through the provider holds, and which says who someone is, not that they granted API
// access — is refused however its audience is dressed, and so is every token of a connection that
// names no API audience. The control shows the same provider's access token getting in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../support/app.js';
import { startCompanyIdp, type CompanyAccount, type CompanyIdp } from '../support/company-idp.js';
import { useAdminPool } from '../integration/api/helpers.js';
import {
  addAccount,
  orgWithConnection,
  redirectUri,
  ssoAppConfig,
  ssoLogin,
} from '../integration/sso/support.js';
import { invalidToken } from './support.js';
import {
  describeTokenMatrix,
  everywhere,
  present,
  type MatrixContext,
  type TokenCase,
} from './token-matrix.js';

const t = useTestApp(ssoAppConfig);
const admin = useAdminPool();
const apiAudience = 'https://api.vlinders.test';

interface Fixture {
  /** An org whose connection names the API audience, and one of its employees, signed in once. */
  idp: CompanyIdp;
  orgId: string;
  employee: CompanyAccount;
  /** An org whose connection names no API audience, and one of its employees, signed in once. */
  plainIdp: CompanyIdp;
  plainOrgId: string;
  plainEmployee: CompanyAccount;
}
let fx: Fixture;

async function linkedEmployee(idp: CompanyIdp, orgId: string): Promise<CompanyAccount> {
  const employee = addAccount(idp, ['vl-admins']);
  const res = await ssoLogin(t.app, idp, orgId, { account: employee.sub });
  expect(res.statusCode, res.body).toBe(200);
  return employee;
}

beforeAll(async () => {
  const idp = await startCompanyIdp({ redirectUri });
  const plainIdp = await startCompanyIdp({ redirectUri });
  const { orgId } = await orgWithConnection(t.app, admin, idp, { audience: apiAudience });
  const { orgId: plainOrgId } = await orgWithConnection(t.app, admin, plainIdp);
  fx = {
    idp,
    orgId,
    employee: await linkedEmployee(idp, orgId),
    plainIdp,
    plainOrgId,
    plainEmployee: await linkedEmployee(plainIdp, plainOrgId),
  };
});
afterAll(async () => {
  await Promise.all([fx?.idp.close(), fx?.plainIdp.close()]);
});

const context = (): MatrixContext => ({ app: t.app, admin, orgId: fx.orgId });
const plainContext = (): MatrixContext => ({ app: t.app, admin, orgId: fx.plainOrgId });

describe('the forging helpers (control)', () => {
  it("the provider's access token for the API audience is accepted, so each refusal below is the attack", async () => {
    const token = await fx.idp.sign({ sub: fx.employee.sub, aud: apiAudience });
    expect((await present(context(), 'user', token)).statusCode).toBe(200);
    expect((await present(context(), 'org', token)).statusCode).toBe(200);
  });
});

const idTokenCases: TokenCase[] = [
  {
    name: "an ID token (aud = the connection's client id)",
    forge: () => fx.idp.sign({ sub: fx.employee.sub, aud: fx.idp.clientId }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'an ID token whose audience list also names the API audience',
    forge: () => fx.idp.sign({ sub: fx.employee.sub, aud: [fx.idp.clientId, apiAudience] }),
    expected: everywhere(invalidToken),
  },
  {
    name: 'an ID token with azp and nonce, the API audience listed first',
    forge: () =>
      fx.idp.sign({
        sub: fx.employee.sub,
        aud: [apiAudience, fx.idp.clientId],
        azp: fx.idp.clientId,
        nonce: 'n-0S6_WzA2Mj',
      }),
    expected: everywhere(invalidToken),
  },
];

const noAudienceCases: TokenCase[] = [
  {
    name: 'an ID token of a connection without an API audience',
    forge: () => fx.plainIdp.sign({ sub: fx.plainEmployee.sub, aud: fx.plainIdp.clientId }),
    expected: everywhere(invalidToken),
  },
  {
    name: "a token of that connection for another org's API audience",
    forge: () => fx.plainIdp.sign({ sub: fx.plainEmployee.sub, aud: apiAudience }),
    expected: everywhere(invalidToken),
  },
];

describeTokenMatrix('ID tokens of a connection with an API audience', context, idTokenCases);
describeTokenMatrix('tokens of a connection without an API audience', plainContext, noAudienceCases);
