// Stands in for @aws-sdk/credential-providers and @aws-sdk/client-sts in the probe layer
// (layers/probe/build.ts): the MSK IAM signer requires them for credential paths the probe never
// takes. Any export, if ever called, throws and says so.
/* global module */
'use strict';
module.exports = new Proxy(
  {},
  {
    get(_target, name) {
      if (typeof name !== 'string' || name === '__esModule' || name === 'then') return undefined;
      return () => {
        throw new Error(
          `${name} is not in the kafka-heal probe layer: MSK IAM tokens are signed with the credentials given to mskIamTokenProvider`,
        );
      };
    },
  },
);
