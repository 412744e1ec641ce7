import Type from 'typebox';
import { passwordLimits } from './passwords.js';
import { Email, Timestamp, Uuid } from '../../common-schemas.js';

const Password = Type.String({ minLength: passwordLimits.minLength, maxLength: passwordLimits.maxLength });

export const SignUpBody = Type.Object(
  {
    email: Email,
    password: Password,
    displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

// Login takes any password length up to the limit, so a short guess gets the same answer as a wrong one.
export const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 1, maxLength: 254 }),
    password: Type.String({ minLength: 1, maxLength: passwordLimits.maxLength }),
  },
  { additionalProperties: false },
);

export const PasswordResetRequestBody = Type.Object({ email: Email }, { additionalProperties: false });

/** A token from a link mailed by sign-up or a reset (43 base64url characters; longer is refused). */
const MailedToken = Type.String({ minLength: 1, maxLength: 200 });

export const VerifyEmailBody = Type.Object({ token: MailedToken }, { additionalProperties: false });

export const PasswordResetBody = Type.Object(
  { token: MailedToken, password: Password },
  { additionalProperties: false },
);

/** The answer of sign-up and of a reset request: the same for every address, known or not. */
export const MailSent = Type.Object({
  message: Type.String({ description: 'what to do next: follow the link mailed to the address' }),
});

export const RefreshBody = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const User = Type.Object({
  id: Uuid,
  email: Type.String(),
  displayName: Type.String(),
  createdAt: Timestamp,
});

export const Me = Type.Object({
  ...User.properties,
  platformRole: Type.Union([Type.Literal('operator'), Type.Null()], {
    description: 'operator for the people who run the platform, else null',
  }),
});

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'access token lifetime in seconds' }),
});

export const Session = Type.Object({ user: User, ...TokenPair.properties });

export const Jwks = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.Literal('RSA'),
      kid: Type.String(),
      alg: Type.Literal('RS256'),
      use: Type.Literal('sig'),
      n: Type.String(),
      e: Type.String(),
    }),
  ),
});
