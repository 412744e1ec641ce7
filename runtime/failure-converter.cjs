// Temporal loads this by path — the worker require()s it and bundles it into the workflow
// sandbox — so it is CommonJS. Error messages and stack traces travel as an encoded payload,
// which the PayloadCodec encrypts like any other, instead of as clear text in the history.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
