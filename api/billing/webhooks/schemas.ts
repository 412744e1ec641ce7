import Type from 'typebox';

export const StripeWebhookHeaders = Type.Object({
  'stripe-signature': Type.String({
    minLength: 1,
    description: "Stripe's signature of the raw body: t=<timestamp>,v1=<HMAC-SHA256>",
  }),
});

export const WebhookReceipt = Type.Object({
  received: Type.Literal(true),
  duplicate: Type.Optional(
    Type.Literal(true, { description: 'the event id was taken before: nothing done' }),
  ),
  ignored: Type.Optional(
    Type.Literal(true, { description: "an event type the lifecycle does not act on, or no tenant's" }),
  ),
});
