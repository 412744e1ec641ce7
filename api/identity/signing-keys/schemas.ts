// Platform administration (operators only).
import Type from 'typebox';
import { Timestamp } from '../../common-schemas.js';

export const RotatedSigningKey = Type.Object(
  {
    kid: Type.String({ description: 'the new key, published in the JWKS from now on' }),
    activatesAt: Timestamp,
  },
  { description: 'The new signing key: it signs tokens from activatesAt' },
);
