import Type from 'typebox';

const Check = Type.Object({ ok: Type.Boolean(), error: Type.Optional(Type.String()) });

export const Liveness = Type.Object({ status: Type.Literal('ok') });
export const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unready')]),
  checks: Type.Record(Type.String(), Check),
});
